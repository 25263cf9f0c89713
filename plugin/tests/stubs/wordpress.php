<?php

/**
 * The WordPress functions the plugin calls, as small in-memory stand-ins. WP::reset() between
 * tests. Other stub files add what their area needs (never edit another area's file).
 */

declare(strict_types=1);

final class WP
{
    /** @var array<string, array<int, list<array{callable, int}>>> */
    public static array $hooks = [];
    /** @var array<string, mixed> */
    public static array $options = [];
    /** @var array<string, mixed> */
    public static array $transients = [];
    /** @var list<array{string, list<mixed>}> actions fired, in order */
    public static array $fired = [];
    /** @var array<string, string> headers sent */
    public static array $headers = [];
    public static ?string $redirect = null;
    public static int $redirectStatus = 0;
    public static string $home = 'https://shop.example/';
    public static int $userId = 0;
    /** @var array<string, bool> */
    public static array $caps = [];

    public static function reset(): void
    {
        self::$hooks = self::$options = self::$transients = self::$fired = self::$headers = [];
        self::$caps = [];
        self::$redirect = null;
        self::$redirectStatus = 0;
        self::$home = 'https://shop.example/';
        self::$userId = 0;
        $_GET = $_POST = $_COOKIE = $_REQUEST = [];
        $_SERVER['REMOTE_ADDR'] = '203.0.113.7';
    }

    /** The callbacks registered on $hook, in priority order. */
    public static function callbacks(string $hook): array
    {
        $byPriority = self::$hooks[$hook] ?? [];
        ksort($byPriority);
        return array_merge([], ...array_values($byPriority));
    }
}

/** Thrown by the wp_die/exit stand-ins so a test sees where a request would have ended. */
final class WPExit extends RuntimeException
{
}

function add_filter(string $hook, callable $callback, int $priority = 10, int $args = 1): bool
{
    WP::$hooks[$hook][$priority][] = [$callback, $args];
    return true;
}

function add_action(string $hook, callable $callback, int $priority = 10, int $args = 1): bool
{
    return add_filter($hook, $callback, $priority, $args);
}

function has_filter(string $hook): bool
{
    return !empty(WP::$hooks[$hook]);
}

function has_action(string $hook): bool
{
    return has_filter($hook);
}

function apply_filters(string $hook, mixed $value, mixed ...$rest): mixed
{
    foreach (WP::callbacks($hook) as [$callback, $args]) {
        $value = $callback(...array_slice([$value, ...$rest], 0, $args));
    }
    return $value;
}

function do_action(string $hook, mixed ...$args): void
{
    WP::$fired[] = [$hook, $args];
    foreach (WP::callbacks($hook) as [$callback, $count]) {
        $callback(...array_slice($args, 0, $count));
    }
}

function did_action(string $hook): int
{
    return count(array_filter(WP::$fired, static fn ($f) => $f[0] === $hook));
}

function register_activation_hook(string $file, callable $callback): void
{
    add_action('activate_' . basename($file), $callback);
}

function register_deactivation_hook(string $file, callable $callback): void
{
    add_action('deactivate_' . basename($file), $callback);
}

function get_option(string $name, mixed $default = false): mixed
{
    return array_key_exists($name, WP::$options) ? WP::$options[$name] : $default;
}

function update_option(string $name, mixed $value, mixed $autoload = null): bool
{
    WP::$options[$name] = $value;
    return true;
}

function add_option(string $name, mixed $value = '', string $deprecated = '', mixed $autoload = null): bool
{
    if (array_key_exists($name, WP::$options)) {
        return false;
    }
    WP::$options[$name] = $value;
    return true;
}

function delete_option(string $name): bool
{
    $had = array_key_exists($name, WP::$options);
    unset(WP::$options[$name]);
    return $had;
}

function get_transient(string $name): mixed
{
    $entry = WP::$transients[$name] ?? null;
    if ($entry === null || ($entry[1] && $entry[1] <= \Bazgasht\Clock::now())) {
        return false;
    }
    return $entry[0];
}

function set_transient(string $name, mixed $value, int $expiration = 0): bool
{
    WP::$transients[$name] = [$value, $expiration ? \Bazgasht\Clock::now() + $expiration : 0];
    return true;
}

function delete_transient(string $name): bool
{
    unset(WP::$transients[$name]);
    return true;
}

function __(string $text, string $domain = 'default'): string
{
    return $text;
}

function esc_html__(string $text, string $domain = 'default'): string
{
    return esc_html($text);
}

function esc_attr__(string $text, string $domain = 'default'): string
{
    return esc_attr($text);
}

function esc_html(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
}

function esc_attr(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
}

function esc_textarea(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
}

function esc_url(string $url): string
{
    return filter_var($url, FILTER_SANITIZE_URL) ?: '';
}

function esc_url_raw(string $url): string
{
    return esc_url($url);
}

function wp_unslash(mixed $value): mixed
{
    return is_string($value) ? stripslashes($value) : (is_array($value) ? array_map('wp_unslash', $value) : $value);
}

function sanitize_text_field(string $text): string
{
    return trim(preg_replace('/[\r\n\t ]+/', ' ', strip_tags($text)));
}

function sanitize_key(string $key): string
{
    return preg_replace('/[^a-z0-9_\-]/', '', strtolower($key));
}

function absint(mixed $value): int
{
    return abs((int) $value);
}

/** WordPress's wp_json_encode: json_encode with its default flags (\uXXXX and \/ escapes). */
function wp_json_encode(mixed $data, int $options = 0, int $depth = 512): string|false
{
    return json_encode($data, $options, $depth);
}

function home_url(string $path = ''): string
{
    return rtrim(WP::$home, '/') . '/' . ltrim($path, '/');
}

function site_url(string $path = ''): string
{
    return home_url($path);
}

function admin_url(string $path = ''): string
{
    return home_url('wp-admin/' . ltrim($path, '/'));
}

function add_query_arg(array $args, string $url): string
{
    $parts = parse_url($url);
    parse_str($parts['query'] ?? '', $query);
    $query = array_merge($query, $args);
    $base = strtok($url, '?');
    return $base . ($query ? '?' . http_build_query($query) : '');
}

function nocache_headers(): void
{
    WP::$headers['Cache-Control'] = 'no-cache, must-revalidate, max-age=0, no-store, private';
    WP::$headers['Expires'] = 'Wed, 11 Jan 1984 05:00:00 GMT';
}

function wp_safe_redirect(string $location, int $status = 302, string $by = 'WordPress'): bool
{
    WP::$redirect = $location;
    WP::$redirectStatus = $status;
    return true;
}

function wp_redirect(string $location, int $status = 302, string $by = 'WordPress'): bool
{
    return wp_safe_redirect($location, $status, $by);
}

function wp_die(mixed $message = '', mixed $title = '', mixed $args = []): never
{
    throw new WPExit(is_string($message) ? $message : 'wp_die');
}

function is_admin(): bool
{
    return false;
}

function get_current_user_id(): int
{
    return WP::$userId;
}

function current_user_can(string $capability): bool
{
    return WP::$caps[$capability] ?? false;
}

function wp_generate_password(int $length = 12, bool $special = true, bool $extra = false): string
{
    return substr(bin2hex(random_bytes($length)), 0, $length);
}
