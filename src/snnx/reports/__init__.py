"""What people read: the verification report (text and HTML), graph drawings and spike rasters.

- `verification.write_report`: ``snnx verify --report DIR``'s HTML page and its figures;
- `drawing.draw`: ``snnx show``'s drawing of a graph (subgraphs boxed, recurrence marked);
- `rasters.plot_rasters`: spike rasters of recorded layers (``snnx simulate --plot``).

Matplotlib is imported inside the functions that draw, so importing these modules stays cheap.
"""
