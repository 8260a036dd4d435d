# Python imports `usercustomize` at start-up after sitecustomize (mptree's runtime): with
# this folder on PYTHONPATH and MPTREE_CORPUS_TRUTH_DIR set, every process of a corpus run
# records what it knows (corpus_truth.py). Nothing happens without the variable.
import os

if os.environ.get('MPTREE_CORPUS_TRUTH_DIR'):
    import corpus_truth

    corpus_truth.install(os.environ['MPTREE_CORPUS_TRUTH_DIR'])
