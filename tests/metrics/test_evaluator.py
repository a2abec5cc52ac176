import numpy as np
import pytest
import torch

from pyg_ext.metrics import Evaluator, roc_auc, average_precision


def test_accuracy_hand_computed():
    ev = Evaluator('accuracy')
    out = ev.eval({'y_true': torch.tensor([[0], [1], [2], [2]]),
                   'y_pred': torch.tensor([[0], [2], [2], [2]])})
    assert out == {'accuracy': 0.75}


def test_macro_f1_hand_computed():
    y_true = np.array([0, 0, 1, 2])
    y_pred = np.array([0, 1, 1, 0])
    f1 = Evaluator('macro_f1').eval({'y_true': y_true, 'y_pred': y_pred})
    # class 0: tp=1 fp=1 fn=1 -> 0.5; class 1: tp=1 fp=1 fn=0 -> 2/3;
    # class 2: tp=0 fp=0 fn=1 -> 0
    assert f1['macro_f1'] == pytest.approx((0.5 + 2 / 3 + 0) / 3)


def test_rocauc_hand_computed_with_ties():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    # pairs (pos, neg): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3/4
    assert Evaluator('rocauc').eval({'y_true': y, 'y_pred': s}) == \
        {'rocauc': 0.75}
    s = np.array([0.5, 0.5, 0.5, 0.9])  # one pos ties both negs: 0.5 + 0.5
    assert roc_auc(y, s) == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)


def test_ap_hand_computed():
    y = np.array([1, 0, 1, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    # precision at each positive: 1/1, 2/3, 3/5 -> mean
    assert average_precision(y, s) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # tied scores form one threshold
    y = np.array([1, 0])
    s = np.array([0.5, 0.5])
    assert average_precision(y, s) == pytest.approx(0.5)


def test_mrr_tie_rule_hand_computed():
    pos = torch.tensor([0.5, 0.9, 0.2])
    neg = torch.tensor([[0.1, 0.5, 0.7],   # 1 greater, 1 equal -> rank 2.5
                        [0.1, 0.2, 0.3],   # rank 1
                        [0.3, 0.4, 0.5]])  # rank 4
    out = Evaluator('mrr').eval({'y_pred_pos': pos, 'y_pred_neg': neg})
    assert out['mrr'] == pytest.approx((1 / 2.5 + 1 + 1 / 4) / 3)
    assert out['hits@1'] == pytest.approx(1 / 3)
    assert out['hits@3'] == pytest.approx(2 / 3)


def test_against_sklearn_style_brute_force():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 20, 200) / 20.0  # many ties
    pos, neg = s[y == 1], s[y == 0]
    brute = ((pos[:, None] > neg[None]).sum() +
             0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert roc_auc(y, s) == pytest.approx(brute)
    # AP brute force over distinct thresholds
    ths = np.unique(s)[::-1]
    ap, prev_r = 0.0, 0.0
    for t in ths:
        sel = s >= t
        tp = (sel & (y == 1)).sum()
        p, r = tp / sel.sum(), tp / (y == 1).sum()
        ap += (r - prev_r) * p
        prev_r = r
    assert average_precision(y, s) == pytest.approx(ap)


def test_agrees_with_ogb_evaluators():
    from ogb.graphproppred import Evaluator as GraphEvaluator
    from ogb.linkproppred import Evaluator as LinkEvaluator
    from ogb.nodeproppred import Evaluator as NodeEvaluator
    rng = np.random.default_rng(1)

    y = rng.integers(0, 40, (300, 1))
    p = np.where(rng.random((300, 1)) < 0.6, y, rng.integers(0, 40, (300, 1)))
    ours = Evaluator('accuracy').eval({'y_true': y, 'y_pred': p})['accuracy']
    theirs = NodeEvaluator('ogbn-arxiv').eval({'y_true': y, 'y_pred': p})['acc']
    assert ours == pytest.approx(theirs)

    y = rng.integers(0, 2, (300, 1))
    s = rng.random((300, 1)) + 0.3 * y
    ours = Evaluator('rocauc').eval({'y_true': y, 'y_pred': s})['rocauc']
    theirs = GraphEvaluator('ogbg-molhiv').eval({'y_true': y,
                                                 'y_pred': s})['rocauc']
    assert ours == pytest.approx(theirs)

    y = rng.integers(0, 2, (300, 128)).astype(float)
    s = rng.random((300, 128)) + 0.2 * y
    ours = Evaluator('ap').eval({'y_true': y, 'y_pred': s})['ap']
    theirs = GraphEvaluator('ogbg-molpcba').eval({'y_true': y,
                                                  'y_pred': s})['ap']
    assert ours == pytest.approx(theirs)

    pos = torch.from_numpy(rng.random(100))
    neg = torch.from_numpy(rng.random((100, 1000)))
    neg[:, :5] = pos.view(-1, 1)  # ties
    ours = Evaluator('mrr').eval({'y_pred_pos': pos, 'y_pred_neg': neg})
    theirs = LinkEvaluator('ogbl-citation2').eval({'y_pred_pos': pos,
                                                   'y_pred_neg': neg})
    assert ours['mrr'] == pytest.approx(theirs['mrr_list'].mean().item())
    assert ours['hits@10'] == pytest.approx(
        theirs['hits@10_list'].float().mean().item())


@pytest.mark.parametrize('metric, inp, exc, match', [
    ('accuracy', {'y_true': np.array([0, 1])}, ValueError, "missing 'y_pred'"),
    ('accuracy', {'y_true': np.array([0, 1]), 'y_pred': np.array([0])},
     ValueError, 'same shape'),
    ('accuracy', {'y_true': np.array([0.5, 1.0]), 'y_pred': np.array([0, 1])},
     TypeError, "'y_true': expected integer class labels"),
    ('accuracy', {'y_true': 'abc', 'y_pred': np.array([0])}, TypeError,
     "'y_true': expected a torch.Tensor"),
    ('rocauc', {'y_true': np.array([1, 1]), 'y_pred': np.array([0.2, 0.3])},
     ValueError, 'no task has both positive and negative'),
    ('rocauc', {'y_true': np.array([0, 2]), 'y_pred': np.array([0.2, 0.3])},
     ValueError, 'binary'),
    ('mrr', {'y_pred_pos': np.zeros(3), 'y_pred_neg': np.zeros((2, 4))},
     ValueError, "'y_pred_neg': expected shape"),
    ('accuracy', [1, 2], TypeError, 'input_dict: expected a dict'),
])
def test_bad_inputs_name_the_key(metric, inp, exc, match):
    with pytest.raises(exc, match=match):
        Evaluator(metric).eval(inp)


def test_unknown_metric():
    with pytest.raises(ValueError, match="'metric': expected one of"):
        Evaluator('f2')


def test_multitask_skips_tasks_without_both_classes_and_nan_labels():
    from ogb.graphproppred import Evaluator as GraphEvaluator
    y = np.array([[1, 1], [1, 0], [1, 1]], dtype=float)
    s = np.array([[.1, .2], [.3, .4], [.5, .6]])
    # Task 0 has no negative: skipped for both metrics, as OGB does.
    assert Evaluator('ap').eval({'y_true': y, 'y_pred': s})['ap'] == \
        pytest.approx(average_precision(y[:, 1].astype(int), s[:, 1]))
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (200, 4)).astype(float)
    y[rng.random((200, 4)) < 0.3] = np.nan
    s = rng.random((200, 4))
    for metric, name in (('rocauc', 'ogbg-molhiv'), ('ap', 'ogbg-molpcba')):
        theirs = GraphEvaluator(name)
        theirs.num_tasks = 4
        assert Evaluator(metric).eval({'y_true': y, 'y_pred': s})[metric] == \
            pytest.approx(theirs.eval({'y_true': y, 'y_pred': s})[metric])


def test_empty_and_bfloat16_inputs():
    with pytest.raises(ValueError, match="'y_true': expected at least one"):
        Evaluator('rocauc').eval({'y_true': np.zeros(0), 'y_pred': np.zeros(0)})
    y = torch.tensor([0, 1, 1, 0])
    s = torch.tensor([0.1, 0.9, 0.8, 0.3], dtype=torch.bfloat16)
    assert Evaluator('rocauc').eval({'y_true': y, 'y_pred': s})['rocauc'] == 1.0
