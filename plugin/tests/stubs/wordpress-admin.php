<?php

/**
 * The WordPress admin, HTTP, cron and Action Scheduler functions the merchant half calls, as
 * in-memory stand-ins. WPAdmin::reset() between tests (after WP::reset()).
 *
 * Functions another area might also need are defined only if missing, so the storefront's stub
 * file can define them too.
 */

declare(strict_types=1);

defined('MINUTE_IN_SECONDS') || define('MINUTE_IN_SECONDS', 60);
defined('HOUR_IN_SECONDS') || define('HOUR_IN_SECONDS', 3600);
defined('DAY_IN_SECONDS') || define('DAY_IN_SECONDS', 86400);

final class WPAdmin
{
    /** @var list<array{parent: string, page_title: string, menu_title: string, capability: string,
     *            slug: string, callback: callable}> */
    public static array $pages = [];
    /** @var list<array{hook: string, args: array, group: string, start: int, interval: int}> */
    public static array $scheduled = [];
    /** @var array<string, array{timestamp: int, recurrence: string}> wp-cron events by hook */
    public static array $cron = [];
    /** @var list<array{url: string, args: array}> HTTP requests made */
    public static array $requests = [];
    /** @var array|WP_Error what the next HTTP request answers */
    public static mixed $httpAnswer = ['response' => ['code' => 200, 'message' => 'OK'], 'body' => '{"ok":true}'];

    public static function reset(): void
    {
        self::$pages = self::$scheduled = self::$cron = self::$requests = [];
        self::$httpAnswer = ['response' => ['code' => 200, 'message' => 'OK'], 'body' => '{"ok":true}'];
    }

    /** A connection code as bazgasht makes it (docs/plugin.md), for the tests' stories. */
    public static function connectionCode(array $data, string $prefix = 'BZG1-'): string
    {
        $json = json_encode($data, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        return $prefix . rtrim(strtr(base64_encode($json), '+/', '-_'), '=');
    }

    /** A request form posted by a user: the nonce WordPress would have put in the form. */
    public static function nonce(string $action): string
    {
        return 'nonce-' . $action . '-' . WP::$userId;
    }
}

if (!class_exists('WP_Error', false)) {
    class WP_Error
    {
        public function __construct(private string|int $code = '', private string $message = '')
        {
        }

        public function get_error_code(): string|int
        {
            return $this->code;
        }

        public function get_error_message(): string
        {
            return $this->message;
        }
    }
}

if (!function_exists('is_wp_error')) {
    function is_wp_error(mixed $thing): bool
    {
        return $thing instanceof WP_Error;
    }
}

if (!function_exists('wp_timezone')) {
    function wp_timezone(): DateTimeZone
    {
        return new DateTimeZone(get_option('timezone_string', '') ?: 'UTC');
    }
}

if (!function_exists('wp_create_nonce')) {
    function wp_create_nonce(string $action = ''): string
    {
        return WPAdmin::nonce($action);
    }
}

if (!function_exists('wp_verify_nonce')) {
    function wp_verify_nonce(string $nonce, string $action = ''): int|false
    {
        return hash_equals(wp_create_nonce($action), $nonce) ? 1 : false;
    }
}

if (!function_exists('wp_nonce_field')) {
    function wp_nonce_field(
        string $action = '',
        string $name = '_wpnonce',
        bool $referer = true,
        bool $echo = true
    ): string {
        $field = '<input type="hidden" name="' . esc_attr($name) . '" value="'
            . esc_attr(wp_create_nonce($action)) . '" />';
        if ($echo) {
            echo $field;
        }
        return $field;
    }
}

if (!function_exists('check_admin_referer')) {
    /** As WordPress: a missing or wrong nonce ends the request ("The link you followed has expired"). */
    function check_admin_referer(string $action = '', string $name = '_wpnonce'): int
    {
        $nonce = $_REQUEST[$name] ?? '';
        $valid = is_string($nonce) ? wp_verify_nonce($nonce, $action) : false;
        if ($valid === false) {
            wp_die('The link you followed has expired.');
        }
        return $valid;
    }
}

if (!function_exists('submit_button')) {
    function submit_button(
        ?string $text = null,
        string $type = 'primary',
        string $name = 'submit',
        bool $wrap = true,
        mixed $other = null
    ): void {
        $classes = implode(' ', array_map(static fn ($t) => 'button-' . $t, explode(' ', $type)));
        $button = '<input type="submit" name="' . esc_attr($name) . '" class="button ' . esc_attr($classes)
            . '" value="' . esc_attr($text ?? 'Save Changes') . '" />';
        echo $wrap ? '<p class="submit">' . $button . '</p>' : $button;
    }
}

if (!function_exists('checked')) {
    function checked(mixed $checked, mixed $current = true, bool $echo = true): string
    {
        $result = (string) $checked === (string) $current ? " checked='checked'" : '';
        if ($echo) {
            echo $result;
        }
        return $result;
    }
}

if (!function_exists('add_submenu_page')) {
    function add_submenu_page(
        string $parent,
        string $pageTitle,
        string $menuTitle,
        string $capability,
        string $slug,
        callable $callback
    ): string {
        WPAdmin::$pages[] = [
            'parent' => $parent, 'page_title' => $pageTitle, 'menu_title' => $menuTitle,
            'capability' => $capability, 'slug' => $slug, 'callback' => $callback,
        ];
        return $parent . '_page_' . $slug;
    }
}

if (!function_exists('sanitize_textarea_field')) {
    function sanitize_textarea_field(string $text): string
    {
        return trim(preg_replace('/[\t ]+/', ' ', strip_tags($text)));
    }
}

if (!function_exists('wp_safe_remote_post')) {
    function wp_safe_remote_post(string $url, array $args = []): array|WP_Error
    {
        WPAdmin::$requests[] = ['url' => $url, 'args' => $args];
        return WPAdmin::$httpAnswer;
    }
}

if (!function_exists('wp_remote_retrieve_response_code')) {
    function wp_remote_retrieve_response_code(mixed $response): int|string
    {
        return is_array($response) ? ($response['response']['code'] ?? '') : '';
    }
}

if (!function_exists('wp_remote_retrieve_body')) {
    function wp_remote_retrieve_body(mixed $response): string
    {
        return is_array($response) ? (string) ($response['body'] ?? '') : '';
    }
}

// ---- wp-cron ----

if (!function_exists('wp_next_scheduled')) {
    function wp_next_scheduled(string $hook, array $args = []): int|false
    {
        return WPAdmin::$cron[$hook]['timestamp'] ?? false;
    }
}

if (!function_exists('wp_schedule_event')) {
    function wp_schedule_event(
        int $timestamp,
        string $recurrence,
        string $hook,
        array $args = [],
        bool $wpError = false
    ): bool {
        WPAdmin::$cron[$hook] = ['timestamp' => $timestamp, 'recurrence' => $recurrence];
        return true;
    }
}

if (!function_exists('wp_clear_scheduled_hook')) {
    function wp_clear_scheduled_hook(string $hook, array $args = [], bool $wpError = false): int
    {
        $had = isset(WPAdmin::$cron[$hook]) ? 1 : 0;
        unset(WPAdmin::$cron[$hook]);
        return $had;
    }
}

// ---- Action Scheduler (bundled with WooCommerce) ----

if (!function_exists('as_schedule_recurring_action')) {
    function as_schedule_recurring_action(
        int $timestamp,
        int $interval,
        string $hook,
        array $args = [],
        string $group = '',
        bool $unique = false,
        int $priority = 10
    ): int {
        WPAdmin::$scheduled[] = [
            'hook' => $hook, 'args' => $args, 'group' => $group, 'start' => $timestamp, 'interval' => $interval,
        ];
        return count(WPAdmin::$scheduled);
    }
}

if (!function_exists('as_has_scheduled_action')) {
    function as_has_scheduled_action(string $hook, ?array $args = null, string $group = ''): bool
    {
        foreach (WPAdmin::$scheduled as $action) {
            if (
                $action['hook'] === $hook && ($args === null || $action['args'] === $args)
                && ($group === '' || $action['group'] === $group)
            ) {
                return true;
            }
        }
        return false;
    }
}

if (!function_exists('as_unschedule_all_actions')) {
    /** As Action Scheduler: an empty hook with a group unschedules the whole group. */
    function as_unschedule_all_actions(string $hook, array $args = [], string $group = ''): void
    {
        WPAdmin::$scheduled = array_values(array_filter(
            WPAdmin::$scheduled,
            static fn ($a) => !(($hook === '' || $a['hook'] === $hook) && ($group === '' || $a['group'] === $group))
        ));
    }
}

// ---- $wpdb ----

/**
 * Just enough of wpdb for the merchant half: answers scripted by the test (by the start of the
 * query), and a record of every query. Tests install it as $GLOBALS['wpdb'] themselves.
 */
final class MerchantWpdb
{
    public string $prefix = 'wp_';
    /** @var list<string> */
    public array $queries = [];
    /** @var array<string, mixed> query prefix => get_var answer */
    public array $answers = [];

    public function prepare(string $query, mixed ...$args): string
    {
        $args = isset($args[0]) && is_array($args[0]) ? $args[0] : $args;
        $quoted = array_map(static fn ($a) => is_int($a) ? (string) $a : "'" . addslashes((string) $a) . "'", $args);
        return vsprintf(str_replace(['%s', '%d'], '%s', $query), $quoted);
    }

    public function esc_like(string $text): string
    {
        return addcslashes($text, '_%\\');
    }

    public function get_var(string $query): mixed
    {
        $this->queries[] = $query;
        foreach ($this->answers as $start => $answer) {
            if (str_starts_with($query, $start)) {
                return $answer;
            }
        }
        return null;
    }

    public function query(string $query): int|bool
    {
        $this->queries[] = $query;
        return true;
    }
}
