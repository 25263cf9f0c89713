<?php

/**
 * The store's connection to bazgasht: the pasted connection code, and the one WooCommerce
 * webhook the plugin owns for its cart topic (WooCommerce signs and delivers; bazgasht verifies
 * with the same secret).
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Connection
{
    public const TOPIC = 'bazgasht_cart.updated';
    public const WEBHOOK_NAME = 'bazgasht cart';

    /**
     * Saves a pasted code: the webhook is created, or the plugin's existing one updated (never a
     * second one), then the connection is kept. A code that does not parse changes nothing.
     *
     * @throws \InvalidArgumentException a code that does not parse (Persian message).
     * @throws \RuntimeException WooCommerce refused the cart topic (Persian message).
     */
    public static function save(string $pasted): ConnectionCode
    {
        $code = ConnectionCode::parse($pasted);

        // The saved webhook may have been deleted in WooCommerce's own webhook screen.
        $webhook = self::webhook() ?? new \WC_Webhook(0);
        $webhook->set_name(self::WEBHOOK_NAME);
        $webhook->set_topic(self::TOPIC);
        if ($webhook->get_topic() !== self::TOPIC) {
            // WooCommerce blanks a topic whose resource it does not know: the storefront half
            // registers it, so a webhook saved now would deliver nothing.
            throw new \RuntimeException(
                __('ووکامرس موضوع سبد خرید بازگشت را نپذیرفت.', 'bazgasht') . ' '
                . __('افزونه را غیرفعال و دوباره فعال کنید و کد را دوباره ذخیره کنید.', 'bazgasht')
            );
        }
        $webhook->set_delivery_url($code->url);
        $webhook->set_secret($code->secret);
        $webhook->set_status('active');
        $webhook->set_api_version('wp_api_v3');
        $webhook->set_user_id(get_current_user_id());
        // WooCommerce disables a webhook after repeated failures and counts on from there:
        // a new code starts the count again, or the next failure would disable it at once.
        $webhook->set_failure_count(0);
        $id = (int) $webhook->save();

        update_option(Options::WEBHOOK_ID, $id);
        update_option(Options::CONNECTION, $code->toArray());
        // What earlier deliveries did says nothing about this code.
        delete_option(Options::STATUS);
        return $code;
    }

    /**
     * The ping WooCommerce sends a webhook it creates from its own screen (unsigned
     * `webhook_id=<id>`, which bazgasht answers with 200): checks at once that the URL reaches
     * bazgasht and the store is known and enabled there. The answer goes to the status box.
     */
    public static function ping(): void
    {
        $connection = Options::connection();
        $id = (int) get_option(Options::WEBHOOK_ID, 0);
        if ($connection === null || $id === 0) {
            return;
        }
        $response = wp_safe_remote_post($connection['url'], [
            'body' => 'webhook_id=' . $id,
            'timeout' => 10,
            'redirection' => 0,
            'user-agent' => 'bazgasht/' . (defined('BAZGASHT_VERSION') ? BAZGASHT_VERSION : '0') . ' (WordPress)',
        ]);
        Status::record([], $response, 0.0, null, $id, Status::PING);
    }

    /** Removes the webhook from WooCommerce and forgets the connection. */
    public static function disconnect(): void
    {
        $webhook = self::webhook();
        if ($webhook !== null) {
            $webhook->delete(true);
        }
        delete_option(Options::WEBHOOK_ID);
        delete_option(Options::CONNECTION);
        delete_option(Options::STATUS);
    }

    /** The plugin's webhook as WooCommerce has it now, or null (never saved, or deleted). */
    public static function webhook(): ?\WC_Webhook
    {
        $id = (int) get_option(Options::WEBHOOK_ID, 0);
        if ($id <= 0 || !function_exists('wc_get_webhook')) {
            return null;
        }
        return wc_get_webhook($id);
    }
}
