import Foundation
import Testing
import MusterLocks

@Suite struct AdaptiveMutexTests {
    @Test func incrementsFromTwoThreadsAreNeverLost() {
        let lock = AdaptiveMutex(0)
        let rounds = 200_000
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            Thread {
                // Read, yield now and then, write: without mutual exclusion updates are lost.
                for round in 0..<rounds {
                    lock.withLock { value in
                        let read = value
                        if round % 1_000 == 0 { sched_yield() }
                        value = read + 1
                    }
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(lock.withLock { $0 } == 2 * rounds)
    }

    @Test func anErrorThrownInsideLeavesTheLockFreeAndTheChangesMade() {
        struct Refused: Error {}
        let lock = AdaptiveMutex([Int]())
        #expect(throws: Refused.self) {
            try lock.withLock { (values: inout [Int]) throws(Refused) in
                values.append(1)
                throw Refused()
            }
        }
        #expect(lock.withLock { $0 } == [1], "the lock is free again and kept what was done before the throw")
    }
}
