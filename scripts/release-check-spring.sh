#!/usr/bin/env bash
# The Spring Boot step of release:check (scripts/release-check.sh runs it in its consumer
# environment: fresh HOME, no Rust, VSYNC_CONFIG / VSYNC_PASSPHRASE of a pushed vault).
# Builds the application of bindings/java/README.md's Spring Boot section exactly as written (its
# dependency block, application.properties and Java source) in a fresh project whose parent is
# spring-boot-starter-parent, with vsync-s3-client-spring and vsync-s3-client resolved from
# DIST/java/repo, runs it, and prints its output on stdout.
# Usage: scripts/release-check-spring.sh DIST README WORKDIR M2   (M2: the local Maven repository)
set -euo pipefail
dist=$1 readme=$2 dir=$3 m2=$4
boot_version=4.0.7

# The first fenced block of LANG in the README's "## Spring Boot" section.
spring_block() {
  awk -v fence="\`\`\`$1" '
    /^## / { in_spring = ($0 ~ /^## Spring Boot/); next }
    in_spring && !open && $0 == fence { open = 1; next }
    in_spring && open && /^```/ { exit }
    in_spring && open { print }
  ' "$readme"
}
dependency=$(spring_block xml)
properties=$(spring_block properties)
source_code=$(spring_block java)
for part in dependency properties source_code; do
  [ -n "${!part}" ] || { echo "$readme: the Spring Boot section has no $part block" >&2; exit 1; }
done
package=$(sed -n 's/^package \([a-zA-Z0-9_.]*\);$/\1/p' <<<"$source_code")
class=$(sed -n 's/^public class \([A-Za-z0-9_]*\).*/\1/p' <<<"$source_code")
[ -n "$package" ] && [ -n "$class" ] || { echo "$readme: the Spring Boot example names no package or public class" >&2; exit 1; }

src="$dir/src/main/java/${package//.//}"
mkdir -p "$src" "$dir/src/main/resources"
printf '%s\n' "$source_code" >"$src/$class.java"
printf '%s\n' "$properties" >"$dir/src/main/resources/application.properties"
{
  cat <<XML
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>$boot_version</version>
  </parent>
  <groupId>app</groupId>
  <artifactId>spring-consumer</artifactId>
  <version>1</version>
  <properties>
    <java.version>17</java.version>
  </properties>
  <repositories>
    <repository><id>dist</id><url>file://$dist/java/repo</url></repository>
  </repositories>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter</artifactId>
    </dependency>
XML
  printf '    %s\n' "${dependency//$'\n'/$'\n'    }"
  cat <<'XML'
  </dependencies>
</project>
XML
} >"$dir/pom.xml"

(cd "$dir" && mvn -B -q --no-transfer-progress -Dmaven.repo.local="$m2" \
  package dependency:copy-dependencies -DincludeScope=runtime) >"$dir/build.log" 2>&1 \
  || { cat "$dir/build.log" >&2; exit 1; }
version=$(sed -n 's/.*<version>\(.*\)<\/version>.*/\1/p' <<<"$dependency")
for artifact in vsync-s3-client-spring vsync-s3-client; do
  cmp -s "$dir/target/dependency/$artifact-$version.jar" "$dist/java/repo/io/github/muthuishere/$artifact/$version/$artifact-$version.jar" \
    || { echo "[spring] $artifact-$version.jar was not resolved from $dist/java/repo" >&2; exit 1; }
done
[ -f "$dir/target/dependency/spring-boot-$boot_version.jar" ] \
  || { echo "[spring] the application does not run on Spring Boot $boot_version" >&2; exit 1; }
cd "$dir" && exec java -cp "target/classes:target/dependency/*" "$package.$class"
