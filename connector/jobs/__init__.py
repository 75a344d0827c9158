"""Jobs: queue backends (in-process, thread, RQ), the task registry, the periodic tick, the worker, and
the wiring that builds a process's runtime (boot).

Sits on top of the use cases: it imports them to run their tasks and tick steps.
"""
