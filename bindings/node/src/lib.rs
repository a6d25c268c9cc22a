//! vsync-node (stub, filled by its issue)
