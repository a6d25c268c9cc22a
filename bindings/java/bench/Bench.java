import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.VsyncClient;
import io.github.muthuishere.vsync.VsyncOptions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A simple harness (scripts/bench-java.sh): native-library load time, cold open() against the
 * local S3 server, getEnv per call next to HashMap.get. Needs VSYNC_CONFIG / VSYNC_PASSPHRASE of
 * a pushed vault holding DATABASE_URL.
 */
public class Bench {
    static volatile Object sink;

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        try {
            VsyncClient.openWith("", ""); // first touch: locate, extract, System.load, then refused
        } catch (RuntimeException expected) {
            // ConfigMissingException: the library is loaded
        }
        System.out.printf(
                "native library load: %.2f ms (extract + System.load + class init)%n", (System.nanoTime() - t0) / 1e6);

        String config = System.getenv("VSYNC_CONFIG");
        String pass = System.getenv("VSYNC_PASSPHRASE");
        int n = 10;
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            try (Vsync v = VsyncClient.openWith(config, pass)) {
                sink = v.getEnv("DATABASE_URL");
            }
            ms[i] = (System.nanoTime() - s) / 1e6;
        }
        double first = ms[0];
        Arrays.sort(ms);
        System.out.printf(
                "cold open(): first %.1f ms, median %.1f ms, min %.1f ms (n=%d; PBKDF2 600k + manifest/bundle GETs)%n",
                first, ms[n / 2], ms[0], n);

        Map<String, String> map = new HashMap<>();
        Map<String, String> env = new HashMap<>();
        env.put("FROM_ENV", "e");
        VsyncOptions opts = VsyncOptions.builder()
                .defaults(Map.of("FROM_DEFAULT", "d"))
                .envLookup(env::get)
                .build();
        try (Vsync v = VsyncClient.openWith(config, pass, opts)) {
            for (String k : v.keys()) {
                map.put(k, v.getEnv(k));
            }
            double hit = perCall(() -> v.getEnv("DATABASE_URL"));
            double miss = perCall(() -> v.getEnv("FROM_DEFAULT"));
            double sys = perCall(() -> null);
            double hm = perCall(() -> map.get("DATABASE_URL"));
            Vsync real = VsyncClient.openWith(config, pass);
            double withGetenv = perCall(() -> real.getEnv("DATABASE_URL"));
            real.close();
            System.out.printf(
                    "getEnv (vault hit): %.1f ns/call; with System::getenv lookup: %.1f ns/call%n", hit, withGetenv);
            System.out.printf("getEnv (chain to defaults): %.1f ns/call%n", miss);
            System.out.printf(
                    "HashMap.get: %.1f ns/call -> getEnv/HashMap.get ratio %.0fx (empty loop %.1f ns)%n",
                    hm, hit / hm, sys);
        }
    }

    interface Op {
        Object run() throws Exception;
    }

    static double perCall(Op op) throws Exception {
        for (int i = 0; i < 300_000; i++) {
            sink = op.run();
        }
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            int iters = 1_000_000;
            long s = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                sink = op.run();
            }
            best = Math.min(best, (System.nanoTime() - s) / (double) iters);
        }
        return best;
    }
}
