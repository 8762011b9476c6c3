"""The edge: one HAProxy per env in front of a service's replicas (issue 26, item 2).

Pure parts here: the typed model (:mod:`.model`), the config text (:mod:`.haproxycfg`),
the runtime API client over the stats socket (:mod:`.api`, the standard library's
``socket``, no process) and the drain procedure (:mod:`.drain`, clock and sleep
injected).  Starting, finding and stopping the process is ``runtime/edgeproc.py``, its
command lines ``runtime/argv_edge.py``: every external command goes through the
``runtime/commands.py`` seam, and this package stays below ``runtime`` in the layers.
"""
