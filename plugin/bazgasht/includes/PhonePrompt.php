<?php

/**
 * The optional phone prompt (setting `phone_prompt`): after an add-to-cart, when no phone is
 * known for the session's cart, the next page shows a small Persian form that posts the phone
 * to the capture endpoint. At most once per session.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class PhonePrompt
{
    /** WooCommerce session key: 'due' after an add-to-cart, 'shown' once printed. */
    public const STATE = 'bazgasht_prompt';

    /** Hooks whatever the settings; the callbacks ask (settings hold __() texts: not before init). */
    public static function register(): void
    {
        add_action('woocommerce_add_to_cart', [self::class, 'due'], 20, 0);
        add_action('wp_enqueue_scripts', [self::class, 'style']);
        add_action('wp_footer', [self::class, 'render']);
    }

    public static function due(): void
    {
        $session = self::session();
        if (!self::enabled() || $session === null || $session->get(self::STATE) === 'shown') {
            return;
        }
        if (Capture::knownPhone() !== '') {
            return;
        }
        $session->set(self::STATE, 'due');
    }

    public static function style(): void
    {
        if (self::enabled() && self::session()?->get(self::STATE) === 'due') {
            wp_enqueue_style(
                'bazgasht-prompt',
                plugins_url('assets/prompt.css', dirname(__DIR__) . '/bazgasht.php'),
                [],
                defined('BAZGASHT_VERSION') ? BAZGASHT_VERSION : null
            );
        }
    }

    public static function render(): void
    {
        $session = self::session();
        if (!self::enabled() || $session === null || $session->get(self::STATE) !== 'due') {
            return;
        }
        if (Capture::knownPhone() !== '') {
            return;
        }
        $session->set(self::STATE, 'shown');
        $text = Options::settings()['prompt_text'];
        ?>
<div class="bazgasht-prompt" dir="rtl" role="dialog" aria-labelledby="bazgasht-prompt-title">
    <form method="post" action="<?php echo esc_url(\WC_AJAX::get_endpoint(Capture::ENDPOINT)); ?>" data-bazgasht-prompt>
        <button type="button" class="bazgasht-prompt__close" data-bazgasht-close
            aria-label="<?php echo esc_attr__('بستن', 'bazgasht'); ?>">&times;</button>
        <p id="bazgasht-prompt-title" class="bazgasht-prompt__title"><?php
            echo esc_html__('سبد خریدتان را کجا بفرستیم؟', 'bazgasht');
        ?></p>
        <p class="bazgasht-prompt__text"><?php echo esc_html($text); ?></p>
        <label class="bazgasht-prompt__label" for="bazgasht-prompt-phone"><?php
            echo esc_html__('شماره موبایل', 'bazgasht');
        ?></label>
        <input id="bazgasht-prompt-phone" class="bazgasht-prompt__phone" type="tel" name="phone" dir="ltr"
            inputmode="tel" autocomplete="tel" maxlength="20" required placeholder="09xxxxxxxxx" />
        <button type="submit" class="bazgasht-prompt__send"><?php echo esc_html__('ثبت', 'bazgasht'); ?></button>
    </form>
</div>
        <?php
    }

    private static function enabled(): bool
    {
        return (bool) Options::settings()['phone_prompt'];
    }

    private static function session(): ?object
    {
        return function_exists('WC') ? WC()->session : null;
    }
}
