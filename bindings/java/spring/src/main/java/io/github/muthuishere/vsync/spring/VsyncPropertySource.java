package io.github.muthuishere.vsync.spring;

import io.github.muthuishere.vsync.Vsync;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Every key of the vault as a Spring property, read from the open handle when asked (values stay
 * in the core's memory, which {@link #close()} wipes).
 *
 * <p>It enumerates the vault's keys only, not the resolved view (vault + process environment +
 * defaults): Spring already has the process environment as its own property source and its own
 * defaults, and a copy of them here would shadow the OS environment's live source with a snapshot.
 *
 * <p>A {@link SystemEnvironmentPropertySource} whose name ends in {@code -systemEnvironment}: vault
 * keys are environment-variable names ({@code DATABASE_URL}), and that is what makes Spring apply
 * its environment-variable relaxed binding to them ({@code @ConfigurationProperties("database")}'s
 * {@code url}, {@code ${database.url}}), exactly as for the OS environment.
 */
public final class VsyncPropertySource extends SystemEnvironmentPropertySource implements AutoCloseable {
    /** The name in the environment's property sources. */
    public static final String NAME = "vsync-systemEnvironment";

    private final Vsync vault;
    private final VaultMap map;

    VsyncPropertySource(Vsync vault) {
        this(vault, new VaultMap(vault));
    }

    private VsyncPropertySource(Vsync vault, VaultMap map) {
        super(NAME, map);
        this.vault = vault;
        this.map = map;
    }

    /** The open handle (for {@code hasNewVersion()}, {@code getAsContent()}, ...); closed with the context. */
    public Vsync vault() {
        return vault;
    }

    /** Wipes the vault's plaintext; afterwards this source has no properties. Idempotent. */
    @Override
    public void close() {
        map.closed = true;
        vault.close();
    }

    /** The vault's keys, values fetched from the handle on each {@code get}. */
    private static final class VaultMap extends AbstractMap<String, Object> {
        private final Vsync vault;
        private final Set<String> keys;
        private volatile boolean closed;

        VaultMap(Vsync vault) {
            this.vault = vault;
            this.keys = Collections.unmodifiableSet(new LinkedHashSet<>(vault.keys()));
        }

        @Override
        public boolean containsKey(Object key) {
            return !closed && keys.contains(key);
        }

        @Override
        public Object get(Object key) {
            if (!containsKey(key)) {
                return null;
            }
            try {
                return vault.getEnv((String) key);
            } catch (IllegalStateException closedMeanwhile) {
                return null;
            }
        }

        @Override
        public String toString() {
            // AbstractMap would print the values.
            return "{vault keys: " + keySet().size() + "}";
        }

        @Override
        public Set<String> keySet() {
            return closed ? Collections.emptySet() : keys;
        }

        @Override
        public Set<Entry<String, Object>> entrySet() {
            Set<String> live = keySet();
            return new AbstractSet<>() {
                @Override
                public Iterator<Entry<String, Object>> iterator() {
                    Iterator<String> names = live.iterator();
                    return new Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return names.hasNext();
                        }

                        @Override
                        public Entry<String, Object> next() {
                            String name = names.next();
                            return new SimpleImmutableEntry<>(name, get(name));
                        }
                    };
                }

                @Override
                public int size() {
                    return live.size();
                }
            };
        }
    }

    @Override
    public String toString() {
        // Never values: the handle's own redacted form.
        return "VsyncPropertySource{" + vault + "}";
    }
}
