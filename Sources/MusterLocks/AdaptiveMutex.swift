import Glibc

/// A value behind an adaptive pthread mutex: the broker's routing state, which every event
/// loop and the consumer pump share, and an event loop's ownership (`Void`), which a helping
/// loop takes with `tryLock`. `Synchronization.Mutex` waits on a priority-inheritance futex
/// on Linux: under contention every wait went through the kernel's rt_mutex (about 8% of the
/// broker's CPU end to end, in a profile). An adaptive mutex spins briefly, then sleeps on a
/// plain futex; the critical sections here are short. Lock order: MusterServer/LockOrder.swift.
public final class AdaptiveMutex<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// For a lock held across calls (an event loop's ownership): pair with `unlock`.
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Takes the lock only if nobody holds it.
    public func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }
}

extension AdaptiveMutex where Value == Void {
    public convenience init() { self.init(()) }
}
