r"""The unified loop: registry, typed config, tasks, methods, runner and
checkpoints. It never imports a concrete model: models, datasets, methods and
tasks register themselves by name (see :mod:`pyg_ext.train.plugins`)."""
from pyg_ext.registry import (DATASETS, METHODS, MODELS, TASKS,
                              register_dataset, register_method,
                              register_model, register_task)
from pyg_ext.train.config import (ConfigError, ExperimentConfig, ModelOptions,
                                  NamedSection, OutputConfig, TrainConfig)
from pyg_ext.train.checkpoint import Checkpointer
from pyg_ext.train.task import Task, TaskOptions
from pyg_ext.train.method import Method, MethodOptions, RunContext, make_optimizer
from pyg_ext.train.plugins import load_plugins
from pyg_ext.train.runner import load_config, run, resume, run_suite, load_suite, summarize, results_table

__all__ = [
    'DATASETS', 'METHODS', 'MODELS', 'TASKS',
    'register_dataset', 'register_method', 'register_model', 'register_task',
    'ConfigError', 'ExperimentConfig', 'ModelOptions', 'NamedSection',
    'OutputConfig', 'TrainConfig', 'load_config',
    'Checkpointer', 'Task', 'TaskOptions', 'Method', 'MethodOptions',
    'RunContext', 'make_optimizer', 'load_plugins',
    'run', 'resume', 'run_suite', 'load_suite', 'summarize', 'results_table',
]
