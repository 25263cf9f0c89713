<?php

/**
 * The SMS consent box, on classic and block checkout. "No" means nothing is sent: Capture erases
 * the cart row's personal data and items and delivers one last body with `consent: false`.
 * The order keeps the answer as `_bazgasht_sms_consent` (yes/no) when the box was shown.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Consent
{
    /** Classic checkout's field, and the hidden field that says the box was on the form. */
    public const FIELD = 'bazgasht_sms_consent';
    public const SHOWN = 'bazgasht_sms_consent_shown';
    /** Block checkout's additional field (namespace/name, as WooCommerce requires). */
    public const BLOCK_FIELD = 'bazgasht/sms-consent';
    public const META = '_bazgasht_sms_consent';

    /**
     * Hooks are added whatever the settings: reading them here (plugins_loaded) would load the
     * text domain before `init` for the defaults' __(); each callback asks instead.
     */
    public static function register(): void
    {
        add_action('woocommerce_after_checkout_billing_form', [self::class, 'render']);
        add_action('woocommerce_init', [self::class, 'registerBlockField']);
        add_filter('woocommerce_get_default_value_for_' . self::BLOCK_FIELD, [self::class, 'blockDefault'], 10, 3);
        add_action('woocommerce_set_additional_field_value', [self::class, 'blockValue'], 10, 4);
    }

    /** Classic checkout, after the billing fields: the box, ticked as the shopper last left it. */
    public static function render(): void
    {
        if (!self::enabled()) {
            return;
        }
        woocommerce_form_field(
            self::FIELD,
            [
                'type' => 'checkbox',
                'class' => ['form-row-wide', 'bazgasht-consent'],
                'label' => esc_html(Options::settings()['consent_label']),
                'required' => false,
            ],
            Capture::consent() ? 1 : 0
        );
        echo '<input type="hidden" name="' . esc_attr(self::SHOWN) . '" value="1" />';
    }

    /** Block checkout: an additional checkbox in the contact step (WooCommerce 8.9+). */
    public static function registerBlockField(): void
    {
        if (!self::enabled() || !function_exists('woocommerce_register_additional_checkout_field')) {
            return;
        }
        woocommerce_register_additional_checkout_field([
            'id' => self::BLOCK_FIELD,
            'label' => Options::settings()['consent_label'],
            'location' => 'contact',
            'type' => 'checkbox',
        ]);
    }

    /**
     * apply_filters("woocommerce_get_default_value_for_{$key}", $value, $group, $wc_object):
     * the shopper's last answer, else the merchant's default.
     */
    public static function blockDefault(mixed $value, mixed $group = '', mixed $wcObject = null): bool
    {
        return Capture::consent();
    }

    /**
     * do_action('woocommerce_set_additional_field_value', $key, $value, $group, $wc_object):
     * the block checkout's answer, on the customer (as it is ticked) and on the order.
     */
    public static function blockValue(mixed $key, mixed $value = null, mixed $group = '', mixed $wcObject = null): void
    {
        if ($key !== self::BLOCK_FIELD || !self::enabled()) {
            return;
        }
        $yes = filter_var($value, FILTER_VALIDATE_BOOLEAN);
        Capture::setConsent($yes);
        if ($wcObject instanceof \WC_Order) {
            $wcObject->update_meta_data(self::META, $yes ? 'yes' : 'no');
        }
    }

    /** The merchant asks for consent (setting `consent_enabled`). */
    public static function enabled(): bool
    {
        return (bool) Options::settings()['consent_enabled'];
    }

    /** Classic checkout's posted answer: null when the box was not on the form. */
    public static function fromClassicPost(): ?bool
    {
        // WooCommerce verified the checkout nonce before woocommerce_checkout_create_order.
        if (empty($_POST[self::SHOWN]) || !self::enabled()) {
            return null;
        }
        return !empty($_POST[self::FIELD]);
    }
}
