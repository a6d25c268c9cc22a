//! vsync-python (stub, filled by its issue)
