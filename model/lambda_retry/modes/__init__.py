"""One package per invocation mode, named by its stem: sync_invoke, async_invoke, stream_poll, sqs_poll.

Each holds ``config.py`` (AWS settings and modelling switches), ``world.py`` (phases and
the frozen world), ``rules.py`` (the table), ``variants.py`` (deliberately wrong models)
and ``scenario.py`` (the scenario contract).
"""
