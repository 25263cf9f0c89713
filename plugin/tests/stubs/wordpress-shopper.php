<?php

/**
 * The WordPress functions only the storefront half calls (scripts, styles, the REST request).
 * General names are guarded with function_exists/class_exists: another stub file may define them
 * first. ShopperWP::reset() between tests.
 */

declare(strict_types=1);

final class ShopperWP
{
    /** @var array<string, array{src: string, deps: array, ver: mixed, args: mixed}> */
    public static array $scripts = [];
    /** @var array<string, list<string>> handle => inline code */
    public static array $inline = [];
    /** @var array<string, string> handle => src */
    public static array $styles = [];

    public static function reset(): void
    {
        self::$scripts = self::$inline = self::$styles = [];
    }
}

if (!function_exists('plugins_url')) {
    function plugins_url(string $path = '', string $plugin = ''): string
    {
        $base = $plugin !== '' ? basename(dirname($plugin)) : '';
        return home_url('wp-content/plugins/' . ($base !== '' ? $base . '/' : '') . ltrim($path, '/'));
    }
}

if (!function_exists('wp_enqueue_script')) {
    function wp_enqueue_script(
        string $handle,
        string $src = '',
        array $deps = [],
        string|bool|null $ver = false,
        array|bool $args = []
    ): void {
        ShopperWP::$scripts[$handle] = ['src' => $src, 'deps' => $deps, 'ver' => $ver, 'args' => $args];
    }
}

if (!function_exists('wp_add_inline_script')) {
    function wp_add_inline_script(string $handle, string $data, string $position = 'after'): bool
    {
        ShopperWP::$inline[$handle][] = $data;
        return true;
    }
}

if (!function_exists('wp_enqueue_style')) {
    function wp_enqueue_style(
        string $handle,
        string $src = '',
        array $deps = [],
        string|bool|null $ver = false,
        string $media = 'all'
    ): void {
        ShopperWP::$styles[$handle] = $src;
    }
}

if (!function_exists('is_email')) {
    function is_email(string $email): string|false
    {
        return filter_var($email, FILTER_VALIDATE_EMAIL) !== false ? $email : false;
    }
}

if (!class_exists('WP_REST_Request')) {
    /** The parts of WP_REST_Request the plugin reads: route, parameters. */
    class WP_REST_Request
    {
        /** @var array<string, mixed> */
        public array $params;

        public function __construct(public string $method = 'GET', public string $route = '', array $params = [])
        {
            $this->params = $params;
        }

        public function get_route(): string
        {
            return $this->route;
        }

        public function get_method(): string
        {
            return $this->method;
        }

        public function get_param(string $key): mixed
        {
            return $this->params[$key] ?? null;
        }

        public function set_param(string $key, mixed $value): void
        {
            $this->params[$key] = $value;
        }

        public function get_params(): array
        {
            return $this->params;
        }
    }
}
