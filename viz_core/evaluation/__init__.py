"""Evaluation of pre-images by a second network (paper Sec. 3.2) and per-scheme metrics.

* :mod:`.imagesets` - labelled image sets (Fashion-MNIST, image folders);
* :mod:`.judging` - 8-bit quantisation, classification, top-k hits;
* :mod:`.protocol` - the Table 1 protocol, its unit of work :func:`~.protocol.table1_batch`
  and the local / Ray executors;
* :mod:`.recognisability` - AM transfer and inversion quality against their floors;
* :mod:`.reports` - CSV / Markdown / JSON / PNG writers and readers;
* :mod:`.scheme_metrics` - per-scheme numbers and the paper's Sec. 4.1 claims.
"""
