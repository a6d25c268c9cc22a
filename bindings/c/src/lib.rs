//! vsync-c (stub, filled by its issue)
