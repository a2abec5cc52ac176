r"""Runs DyGLib's ``train_link_prediction.py`` (github yule-BUAA/DyGLib,
kept outside this repository) unchanged under Python 3.11, for the
seconds-per-epoch comparison of docs/benchmarks.md ("UCI-Msg temporal link
prediction").

DyGLib targets Python 3.8-3.10: its data loader calls ``random.sample`` on
a set, which Python 3.11 refuses; this launcher converts a set with
``tuple()``, as Python 3.10 did, and changes nothing else.

    git clone https://github.com/yule-BUAA/DyGLib && cd DyGLib
    mkdir -p processed_data/uci
    ln -s $PYG_EXT_DATA/temporal/uci/ml_UCI-Msg.csv processed_data/uci/ml_uci.csv
    ln -s $PYG_EXT_DATA/temporal/uci/ml_UCI-Msg.npy processed_data/uci/ml_uci.npy
    ln -s $PYG_EXT_DATA/temporal/uci/ml_UCI-Msg_node.npy processed_data/uci/ml_uci_node.npy
    OMP_NUM_THREADS=1 python /path/to/pyg_ext/benchmarks/dyglib_launch.py \
        --dataset_name uci --model_name TGN --load_best_configs \
        --num_runs 1 --num_epochs 2 --gpu 0

(run from the DyGLib directory; needs pandas, scikit-learn and tqdm). The
per-epoch times are the differences of the timestamps of its log's
``Epoch: N`` lines (``logs/TGN/uci/...``).
"""
import os
import random
import runpy
import sys

_sample = random.sample


def _sample_sets(population, k, **kwargs):
    if isinstance(population, (set, frozenset)):
        population = tuple(population)
    return _sample(population, k, **kwargs)


if __name__ == '__main__':
    if not os.path.isfile('train_link_prediction.py'):
        sys.exit("run this from a DyGLib checkout (train_link_prediction.py "
                 "not found in the current directory)")
    random.sample = _sample_sets
    sys.path.insert(0, os.getcwd())
    sys.argv = ['train_link_prediction.py'] + sys.argv[1:]
    runpy.run_path('train_link_prediction.py', run_name='__main__')
