//! Ctrl-C in the long commands (`score`, `train`): the first press asks them to stop at the
//! next consistent point (a score line on disk, a finished step), where they keep what they
//! have and say how to resume; a second press stops at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Sets the handler (once per process; later calls keep the first).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: stopping now");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping at the next consistent point (Ctrl-C again to stop now)");
    });
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
