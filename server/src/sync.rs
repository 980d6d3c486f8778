//! One rule for poisoned locks. Every lock in the hub guards a value that
//! is replaced or updated in one step (the directory's `Arc`, presence
//! counters), so a thread that panicked while holding one cannot have left
//! it half-changed: the value is used as it is, instead of failing (or
//! silently emptying) every later reader.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
