//! Block kernels of oxdask's own algorithms: the work inside a task that NumPy has no
//! routine for. Pure functions over plain slices, called by the Python bindings with the GIL
//! released.

pub mod random;
