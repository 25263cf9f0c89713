<?php

declare(strict_types=1);

use Bazgasht\Capture;
use Bazgasht\Clock;
use Bazgasht\Options;
use Bazgasht\Restore;
use Bazgasht\Shopper;
use PHPUnit\Framework\TestCase;

/**
 * A storefront with the plugin's storefront half registered: two products, a connection
 * (secret 's3cret'), the clock at 2026-11-30T00:53:20 UTC and a fresh cart, session and table.
 */
abstract class ShopperTestCase extends TestCase
{
    protected const NOW = 1796000000;
    protected const SECRET = 's3cret';

    /** @var list<array{int, array}> JSON answers of the capture endpoint: [status, data] */
    protected array $responses = [];

    protected function setUp(): void
    {
        WP::reset();
        WCStub::reset();
        ShopperWP::reset();
        wpdb::reset();
        Clock::set(self::NOW);
        $_SERVER['REQUEST_URI'] = '/';
        unset($_SERVER['CONTENT_LENGTH']);
        WP::$options[Options::CONNECTION] = ['url' => 'https://bazgasht.example/hook', 'secret' => self::SECRET,
            'store' => 'فروشگاه'];
        $this->newRequest();
        WCStub::product(11, 'کتاب', '275000');
        WCStub::product(12, 'ماگ', '120000');
        $this->settings([]);
    }

    protected function tearDown(): void
    {
        Clock::set(null);
        Capture::reset();
        Restore::$exit = null;
    }

    /** The merchant's settings (over the defaults), then the storefront's hooks afresh. */
    protected function settings(array $settings): void
    {
        WP::$options[Options::SETTINGS] = $settings;
        WP::$hooks = [];
        Shopper::register();
    }

    /** Ends this request (shutdown runs) and starts the next one of the same browser. */
    protected function endRequest(): void
    {
        do_action('shutdown');
        $this->newRequest();
        WP::$fired = [];
    }

    protected function newRequest(): void
    {
        Capture::reset();
        Capture::$respond = function (array $data, int $status): void {
            $this->responses[] = [$status, $data];
        };
        Restore::$exit = static function (string $outcome): void {
            throw new WPExit($outcome);
        };
        $_GET = $_POST = [];
        WC()->rest = false;
    }

    /** The session ran the plugin's script (or a Store API request came). */
    protected function human(): void
    {
        WC()->session->set(Capture::HUMAN, true);
    }

    /** How many times bazgasht_cart_updated fired in this request (before endRequest clears). */
    protected function deliveries(): array
    {
        return array_values(array_map(
            static fn ($f) => $f[1][0],
            array_filter(WP::$fired, static fn ($f) => $f[0] === 'bazgasht_cart_updated')
        ));
    }

    /** Runs shutdown and returns the tokens the cart topic's action fired with. */
    protected function shutdownDeliveries(): array
    {
        do_action('shutdown');
        $fired = $this->deliveries();
        $this->newRequest();
        WP::$fired = [];
        return $fired;
    }

    protected function token(): string
    {
        return (string) WC()->session->get(Capture::TOKEN, '');
    }

    /** A restore token as bazgasht mints it (docs/plugin.md, "Restore tokens"). */
    protected static function mint(array $payload, string $secret = self::SECRET): string
    {
        $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $body = $b64((string) json_encode($payload));
        return $body . '.' . $b64(hash_hmac('sha256', 'bazgasht-restore.' . $body, $secret, true));
    }
}
