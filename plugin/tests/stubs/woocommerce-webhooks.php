<?php

/**
 * WooCommerce's webhooks as an in-memory store: WC_Webhook with the getters, setters, save and
 * delete the plugin uses, wc_get_webhook, and the topic check WooCommerce applies in set_topic
 * (a custom topic is valid only once its resource and event are registered through
 * woocommerce_valid_webhook_resources / _events — the storefront's CartTopic does that).
 * WCWebhooks::reset() between tests.
 */

declare(strict_types=1);

final class WCWebhooks
{
    /** @var array<int, array<string, mixed>> saved webhooks by id */
    public static array $saved = [];
    public static int $nextId = 1;

    public static function reset(): void
    {
        self::$saved = [];
        self::$nextId = 1;
    }

    /** What the storefront's CartTopic does for the plugin's topic, for the merchant's stories. */
    public static function registerCartTopic(): void
    {
        add_filter('woocommerce_valid_webhook_resources', static fn (array $r) => [...$r, 'bazgasht_cart']);
    }
}

class WC_Webhook
{
    private int $id = 0;
    /** @var array<string, mixed> as WooCommerce's defaults */
    private array $data = [
        'status' => 'disabled', 'delivery_url' => '', 'secret' => '', 'name' => '', 'topic' => '',
        'failure_count' => 0, 'user_id' => 0, 'api_version' => 3, 'pending_delivery' => false,
    ];

    /** As WooCommerce 10: an id that is not saved leaves a new, unsaved webhook (id 0). */
    public function __construct(int|string|WC_Webhook $data = 0)
    {
        $id = $data instanceof WC_Webhook ? $data->get_id() : (int) $data;
        if ($id > 0 && isset(WCWebhooks::$saved[$id])) {
            $this->id = $id;
            $this->data = WCWebhooks::$saved[$id];
        }
    }

    public function get_id(): int
    {
        return $this->id;
    }

    public function get_name(): string
    {
        return $this->data['name'];
    }

    public function set_name(string $name): void
    {
        $this->data['name'] = $name;
    }

    public function get_status(): string
    {
        return $this->data['status'];
    }

    public function set_status(string $status): void
    {
        $this->data['status'] = array_key_exists($status, wc_get_webhook_statuses()) ? $status : 'disabled';
    }

    public function get_topic(): string
    {
        return $this->data['topic'];
    }

    public function set_topic(string $topic): void
    {
        $this->data['topic'] = wc_is_webhook_valid_topic($topic) ? $topic : '';
    }

    public function get_delivery_url(): string
    {
        return $this->data['delivery_url'];
    }

    public function set_delivery_url(string $url): void
    {
        $this->data['delivery_url'] = esc_url_raw($url);
    }

    public function get_secret(): string
    {
        return $this->data['secret'];
    }

    public function set_secret(string $secret): void
    {
        $this->data['secret'] = $secret;
    }

    public function get_api_version(): string
    {
        return $this->data['api_version'] > 0 ? 'wp_api_v' . $this->data['api_version'] : 'legacy_v3';
    }

    public function set_api_version(int|string $version): void
    {
        $number = is_numeric($version) ? (int) $version : (int) str_replace('wp_api_v', '', $version);
        $this->data['api_version'] = $number;
    }

    public function get_user_id(): int
    {
        return $this->data['user_id'];
    }

    public function set_user_id(int $userId): void
    {
        $this->data['user_id'] = $userId;
    }

    public function get_failure_count(): int
    {
        return $this->data['failure_count'];
    }

    public function set_failure_count(int $count): void
    {
        $this->data['failure_count'] = $count;
    }

    public function get_pending_delivery(): bool
    {
        return $this->data['pending_delivery'];
    }

    public function set_pending_delivery(bool $pending): void
    {
        $this->data['pending_delivery'] = $pending;
    }

    public function save(): int
    {
        if ($this->id === 0) {
            $this->id = WCWebhooks::$nextId++;
        }
        WCWebhooks::$saved[$this->id] = $this->data;
        return $this->id;
    }

    public function delete(bool $forceDelete = false): bool
    {
        unset(WCWebhooks::$saved[$this->id]);
        $this->id = 0;
        return true;
    }
}

if (!function_exists('wc_get_webhook')) {
    function wc_get_webhook(int|string|WC_Webhook $id): ?WC_Webhook
    {
        $webhook = new WC_Webhook($id);
        return $webhook->get_id() !== 0 ? $webhook : null;
    }
}

if (!function_exists('wc_get_webhook_statuses')) {
    function wc_get_webhook_statuses(): array
    {
        return apply_filters('woocommerce_webhook_statuses', [
            'active' => 'Active', 'paused' => 'Paused', 'disabled' => 'Disabled',
        ]);
    }
}

if (!function_exists('wc_is_webhook_valid_topic')) {
    function wc_is_webhook_valid_topic(string $topic): bool
    {
        if (str_starts_with($topic, 'action.woocommerce_') || str_starts_with($topic, 'action.wc_')) {
            return true;
        }
        $data = explode('.', $topic);
        if (!isset($data[0], $data[1])) {
            return false;
        }
        $resources = apply_filters('woocommerce_valid_webhook_resources', ['coupon', 'customer', 'order', 'product']);
        $events = apply_filters('woocommerce_valid_webhook_events', ['created', 'updated', 'deleted', 'restored']);
        return in_array($data[0], $resources, true) && in_array($data[1], $events, true);
    }
}
