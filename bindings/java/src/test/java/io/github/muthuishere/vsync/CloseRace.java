package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** Readers racing a {@code close()} of the handle they read. */
final class CloseRace {
    /** One read of the handle; throws (an {@code AssertionError}) when what it read is wrong. */
    interface Read {
        void run() throws Exception;
    }

    private CloseRace() {}

    /**
     * Starts {@code readers} threads that each do {@code reads} reads, closes {@code vault} after
     * {@code pauseMs}, and checks that every read either saw whole values or was refused with
     * {@code IllegalStateException} (closed), and that nothing else was thrown.
     */
    static void run(Vsync vault, int readers, int reads, long pauseMs, Read read) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger values = new AtomicInteger();
        AtomicInteger closed = new AtomicInteger();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < readers; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < reads; i++) {
                        try {
                            read.run();
                            values.incrementAndGet();
                        } catch (IllegalStateException closedNow) {
                            closed.incrementAndGet();
                        }
                    }
                } catch (Throwable x) {
                    unexpected.compareAndSet(null, x);
                }
            });
            th.start();
            threads.add(th);
        }
        start.countDown();
        Thread.sleep(pauseMs);
        vault.close();
        for (Thread th : threads) {
            th.join();
        }
        if (unexpected.get() != null) {
            throw new AssertionError(unexpected.get());
        }
        assertEquals(readers * reads, values.get() + closed.get());
    }
}
