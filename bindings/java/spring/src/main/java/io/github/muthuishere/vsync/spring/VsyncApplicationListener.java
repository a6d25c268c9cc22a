package io.github.muthuishere.vsync.spring;

import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * The two things the ConfigData API cannot do itself.
 *
 * <p><b>Order: the vault wins over the OS environment.</b> Spring places imported config data below
 * the OS environment variables; every vsync binding, {@code vsync run} and the core's chain put the
 * vault first (vault, then process environment, then defaults), so that a stale variable left in a
 * container or a CI job never shadows the vault's value. Once config data is loaded (the
 * environment post-processors run at {@code HIGHEST_PRECEDENCE + 10}), this moves the vault's
 * source to just above {@code systemEnvironment}: above the OS environment and every config file,
 * still below what is deliberately set for one run (command-line arguments, Java system
 * properties, a test's properties), as the OS environment itself is.
 *
 * <p><b>Lifecycle: the handle is closed (wiped) with the context</b> ({@link ContextClosedEvent}, or
 * {@link ApplicationFailedEvent} when start-up fails before the context was refreshed). A child
 * context whose environment inherited the parent's sources leaves them to the parent.
 */
public class VsyncApplicationListener implements ApplicationListener<ApplicationEvent>, Ordered {
    /** Right after Spring Boot's EnvironmentPostProcessorApplicationListener (which loads config data). */
    static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 11;

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
            placeAboveSystemEnvironment(prepared.getEnvironment().getPropertySources());
        } else if (event instanceof ContextClosedEvent closed) {
            close(closed.getApplicationContext());
        } else if (event instanceof ApplicationFailedEvent failed && failed.getApplicationContext() != null) {
            close(failed.getApplicationContext());
        }
    }

    static void placeAboveSystemEnvironment(MutablePropertySources sources) {
        String systemEnvironment = StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME;
        if (!sources.contains(systemEnvironment)) {
            return;
        }
        for (VsyncPropertySource vault : vaultSources(sources)) {
            sources.remove(vault.getName());
            sources.addBefore(systemEnvironment, vault);
        }
    }

    private static void close(ApplicationContext context) {
        if (!(context.getEnvironment() instanceof ConfigurableEnvironment environment)) {
            return;
        }
        ApplicationContext parent = context.getParent();
        MutablePropertySources inherited = parent instanceof ConfigurableApplicationContext p
                ? p.getEnvironment().getPropertySources()
                : null;
        for (VsyncPropertySource vault : vaultSources(environment.getPropertySources())) {
            if (inherited == null || inherited.get(vault.getName()) != vault) {
                vault.close();
            }
        }
    }

    private static List<VsyncPropertySource> vaultSources(MutablePropertySources sources) {
        List<VsyncPropertySource> found = new ArrayList<>();
        for (PropertySource<?> source : sources) {
            if (source instanceof VsyncPropertySource vault) {
                found.add(vault);
            }
        }
        return found;
    }
}
