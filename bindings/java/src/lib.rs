//! vsync-java (stub, filled by its issue)
