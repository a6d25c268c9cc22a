package io.github.muthuishere.vsync.spring;

import org.springframework.boot.context.config.ConfigDataResource;
import org.springframework.boot.context.properties.bind.Binder;

/**
 * The vault of a {@code vsync:} import. All are equal: importing {@code vsync:} twice (say from
 * application.properties and a profile's file) opens the vault once.
 */
public final class VsyncConfigDataResource extends ConfigDataResource {
    private final boolean optional;
    private final Binder binder;

    VsyncConfigDataResource(boolean optional, Binder binder) {
        super(optional);
        this.optional = optional;
        this.binder = binder;
    }

    boolean optional() {
        return optional;
    }

    Binder binder() {
        return binder;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof VsyncConfigDataResource;
    }

    @Override
    public int hashCode() {
        return VsyncConfigDataResource.class.hashCode();
    }

    @Override
    public String toString() {
        return VsyncConfigDataLocationResolver.PREFIX;
    }
}
