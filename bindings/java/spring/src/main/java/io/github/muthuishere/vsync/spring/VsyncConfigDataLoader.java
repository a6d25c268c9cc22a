package io.github.muthuishere.vsync.spring;

import io.github.muthuishere.vsync.ConfigMissingException;
import io.github.muthuishere.vsync.ManifestNotFoundException;
import io.github.muthuishere.vsync.VSyncException;
import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.VsyncClient;
import io.github.muthuishere.vsync.VsyncOptions;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.springframework.boot.context.config.ConfigData;
import org.springframework.boot.context.config.ConfigDataLoader;
import org.springframework.boot.context.config.ConfigDataLoaderContext;
import org.springframework.boot.context.config.ConfigDataResourceNotFoundException;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;

/**
 * Opens the vault of a {@code vsync:} import (one S3 round trip, decrypted in memory) and hands
 * Spring one {@link VsyncPropertySource} over it.
 *
 * <p>Failures: with {@code optional:vsync:}, "there is no vault" ({@link ConfigMissingException}: no
 * bootstrap variables; {@link ManifestNotFoundException}: nothing pushed there) is Spring's
 * not-found, and start-up goes on without it. Every other failure (wrong passphrase, corrupt or
 * rolled-back bundle, S3 unreachable) fails start-up even when optional: the vault exists, and an
 * application that started without it would run on the wrong configuration. The vsync exception is
 * the cause of the {@link VsyncConfigDataException} that start-up fails with.
 */
public class VsyncConfigDataLoader implements ConfigDataLoader<VsyncConfigDataResource> {

    @Override
    public ConfigData load(ConfigDataLoaderContext context, VsyncConfigDataResource resource)
            throws ConfigDataResourceNotFoundException {
        BootstrapLookup lookup = new BootstrapLookup(resource.binder());
        Vsync vault;
        try {
            vault = VsyncClient.open(VsyncOptions.builder().envLookup(lookup).build());
        } catch (ConfigMissingException | ManifestNotFoundException noVault) {
            if (resource.optional()) {
                throw new ConfigDataResourceNotFoundException(resource, noVault);
            }
            throw new VsyncConfigDataException(noVault);
        } catch (VSyncException e) {
            throw new VsyncConfigDataException(e);
        } finally {
            lookup.detach();
        }
        return new ConfigData(List.of(new VsyncPropertySource(vault)));
    }

    /**
     * The handle's environment lookup. During open() each variable the core asks for
     * ({@code VSYNC_CONFIG}, {@code VSYNC_PASSPHRASE_FILE}, {@code VSYNC_MIN_GENERATION}, ...) is read
     * through Spring's relaxed binding ({@code vsync.config}, {@code vsync.passphrase.file}, ...), so
     * it comes from the OS environment as usual, or from any property source known before the
     * import (command line, system properties, application.properties, a test's properties).
     * Afterwards it is the process environment, as for {@code VsyncClient.open()}: the handle that
     * {@link VsyncPropertySource#vault()} gives answers {@code getEnv} and {@code environ()} through
     * the usual chain (the property source itself asks it for vault keys only).
     */
    static final class BootstrapLookup implements Function<String, String> {
        private volatile Binder binder;

        BootstrapLookup(Binder binder) {
            this.binder = binder;
        }

        void detach() {
            binder = null;
        }

        @Override
        public String apply(String variable) {
            Binder b = binder;
            if (b == null) {
                return System.getenv(variable);
            }
            String name = variable.toLowerCase(Locale.ROOT).replace('_', '.');
            if (!ConfigurationPropertyName.isValid(name)) {
                return null;
            }
            return b.bind(name, String.class).orElse(null);
        }
    }
}
