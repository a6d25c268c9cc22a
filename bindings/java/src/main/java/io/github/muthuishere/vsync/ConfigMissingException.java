package io.github.muthuishere.vsync;

/** No usable bootstrap input: {@code VSYNC_CONFIG}/{@code VSYNC_PASSPHRASE} (or their {@code _FILE} forms) unset or empty, an unreadable or world-writable file, or raw JSON instead of a {@code vsync-cfg-v1:} blob. */
public class ConfigMissingException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public ConfigMissingException(String code, String message) {
        super(code, message);
    }
}
