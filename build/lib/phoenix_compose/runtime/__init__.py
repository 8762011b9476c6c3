"""Running the stack on podman: the one subprocess seam (``commands``), every command line as
data (``argv``), container and stack records, the lifecycle, the health-gated start,
images, the doctor, locks and the audit log."""
