"""Running the stack on podman: the one subprocess seam (``podman``), every command line as
data (``argv``), container and stack records, the lifecycle, the health-gated start,
images, the doctor, locks and the audit log."""
