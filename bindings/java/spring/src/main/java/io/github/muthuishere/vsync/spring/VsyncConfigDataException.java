package io.github.muthuishere.vsync.spring;

import io.github.muthuishere.vsync.VSyncException;
import org.springframework.boot.context.config.ConfigDataException;

/** Start-up failed because the vault of {@code spring.config.import=vsync:} could not be opened;
 *  the cause is the vsync exception (its class and {@code code()} say why; no secret in either). */
public class VsyncConfigDataException extends ConfigDataException {
    private static final long serialVersionUID = 1L;

    VsyncConfigDataException(VSyncException cause) {
        super(
                "spring.config.import=vsync: could not open the vault: "
                        + cause.getClass().getSimpleName() + " (" + cause.code() + "): " + cause.getMessage(),
                cause);
    }
}
