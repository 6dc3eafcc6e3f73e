"""Worker processes: which workflows and activities run on which task queue.

`registry` lists what each queue runs, `connection` reaches Temporal, and `main` runs
the workers until a signal stops them (`chaine worker`).
"""
