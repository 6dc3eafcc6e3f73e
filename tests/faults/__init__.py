"""Fault scenarios: real processes killed with SIGKILL, dependencies stopped and restarted,
and the legal clocks across month ends, a leap day and the Paris clock changes.

One module per scenario:

- `test_worker_killed`: a `chaine worker` killed while issuing two mandates (one before its
  insert, one during its commit) and while a receiver holds its callbacks;
- `test_temporal_restarted`: the Temporal dev server killed and restarted on its file;
- `test_database_restarted`: a private PostgreSQL cluster crashed and restarted under load;
- `test_api_killed_mid_upload`: a `chaine api` killed while a deposit streams in;
- `test_legal_clocks`: payment deadline, late interest and standstill at month ends, on
  29 February 2028 and across the Paris clock changes, and a workflow timer across one;
- `test_mandate_numbers`: mandate numbers that collide (found on the way).

Time skipping does not help here: a dev server skips time only while no activity is in
flight, so the timeouts of a killed worker's activities pass for real (30 s to a minute).

Crashes covered elsewhere, not repeated here:

- a worker killed during validation: `tests/workflows/test_worker_crash.py`;
- a worker killed between a payment file and the statuses it pays:
  `tests/workflows/test_payment_crash.py`;
- a worker killed between service done and the mandate:
  `tests/workflows/test_kill_between_steps.py`;
- `chaine up` stopped and started again: `tests/e2e/test_up.py`.
"""
