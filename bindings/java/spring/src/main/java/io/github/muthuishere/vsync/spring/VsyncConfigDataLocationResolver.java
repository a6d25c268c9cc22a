package io.github.muthuishere.vsync.spring;

import java.util.List;
import org.springframework.boot.context.config.ConfigDataLocation;
import org.springframework.boot.context.config.ConfigDataLocationResolver;
import org.springframework.boot.context.config.ConfigDataLocationResolverContext;

/**
 * Resolves {@code spring.config.import=vsync:} (and {@code optional:vsync:}) to the one vault the
 * bootstrap variables name. Opening is the loader's job ({@link VsyncConfigDataLoader}); this only
 * keeps the {@link org.springframework.boot.context.properties.bind.Binder} of the properties known
 * so far, through which the core reads {@code VSYNC_CONFIG}, {@code VSYNC_PASSPHRASE} and the rest.
 */
public class VsyncConfigDataLocationResolver implements ConfigDataLocationResolver<VsyncConfigDataResource> {
    static final String PREFIX = "vsync:";

    @Override
    public boolean isResolvable(ConfigDataLocationResolverContext context, ConfigDataLocation location) {
        return location.hasPrefix(PREFIX);
    }

    @Override
    public List<VsyncConfigDataResource> resolve(
            ConfigDataLocationResolverContext context, ConfigDataLocation location) {
        // The location names no vault itself: the bootstrap variables do, as for every vsync open().
        if (!location.getNonPrefixedValue(PREFIX).isEmpty()) {
            throw new IllegalArgumentException("the vsync: import takes nothing after 'vsync:' (the vault is named"
                    + " by VSYNC_CONFIG / vsync.config); got '" + location.getNonPrefixedValue("") + "'");
        }
        return List.of(new VsyncConfigDataResource(location.isOptional(), context.getBinder()));
    }
}
