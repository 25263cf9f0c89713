<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\PhonePrompt;

final class PhonePromptTest extends ShopperTestCase
{
    private function footer(): string
    {
        ob_start();
        do_action('wp_footer');
        return (string) ob_get_clean();
    }

    public function testOffByDefault(): void
    {
        WC()->cart->add_to_cart(11, 1);

        $this->assertNull(WC()->session->get(PhonePrompt::STATE));
        $this->assertSame('', $this->footer());
    }

    public function testAfterAnAddToCartTheNextPageAsksOnce(): void
    {
        $this->settings(['phone_prompt' => true, 'prompt_text' => 'شماره <script>x</script>']);
        WC()->cart->add_to_cart(11, 1);
        $this->assertSame('due', WC()->session->get(PhonePrompt::STATE));

        do_action('wp_enqueue_scripts');
        $this->assertStringEndsWith('/bazgasht/assets/prompt.css', ShopperWP::$styles['bazgasht-prompt']);
        $html = $this->footer();
        $this->assertStringContainsString('dir="rtl"', $html);
        $this->assertStringContainsString('action="/?wc-ajax=bazgasht_capture"', $html);
        $this->assertStringContainsString('name="phone"', $html);
        $this->assertStringContainsString('سبد خریدتان را کجا بفرستیم؟', $html);
        $this->assertStringContainsString('شماره &lt;script&gt;x&lt;/script&gt;', $html);
        $this->assertStringNotContainsString('<script>', $html);

        $this->assertSame('', $this->footer(), 'at most once per session');
        WC()->cart->add_to_cart(12, 1);
        $this->assertSame('', $this->footer());
    }

    public function testAKnownPhoneIsNotAskedFor(): void
    {
        $this->settings(['phone_prompt' => true]);
        WC()->customer->set_billing_phone('09123456789');
        WC()->cart->add_to_cart(11, 1);

        $this->assertNull(WC()->session->get(PhonePrompt::STATE));
        $this->assertSame('', $this->footer());
    }
}
