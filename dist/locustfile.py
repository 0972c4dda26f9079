"""Minimal master-side locustfile for klayslave workers.

The master only needs user classes to dispatch; klayslave's Go workers do
the work. Start the master with:

    locust -f dist/locustfile.py --master

A class named after a test case (for example ``rpcPing`` or
``scValueTransferTc``) makes its users run that case only; the generic
``KlaySlave`` class runs the cases given to the worker with -tc, by weight.
"""
from locust import User, task


class KlaySlave(User):
    @task
    def never_runs_on_the_master(self):
        pass
