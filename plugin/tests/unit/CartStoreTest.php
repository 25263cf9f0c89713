<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\CartStore;
use Bazgasht\Clock;

final class CartStoreTest extends ShopperTestCase
{
    private const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

    public function testARowComesBackTyped(): void
    {
        CartStore::save(['token' => self::TOKEN, 'phone' => '09123456789', 'items' => [['product_id' => 11,
            'quantity' => 2]], 'total' => '550000', 'currency' => 'IRT', 'consent' => true]);

        $row = CartStore::find(self::TOKEN);
        $this->assertSame('09123456789', $row['phone']);
        $this->assertSame([['product_id' => 11, 'quantity' => 2]], $row['items']);
        $this->assertTrue($row['consent']);
        $this->assertSame(0, $row['order_id']);
        $this->assertSame('2026-11-30T00:53:20', $row['created_gmt']);
        $this->assertSame('2026-11-30T00:53:20', $row['modified_gmt']);
        $this->assertNull(CartStore::find('nobody'));
        $this->assertNull(CartStore::find(''));
    }

    public function testAnUpdateKeepsCreatedAndMovesModified(): void
    {
        CartStore::save(['token' => self::TOKEN, 'first_name' => 'سارا']);
        Clock::set(self::NOW + 3600);
        CartStore::save(['token' => self::TOKEN, 'first_name' => "سارا'); DROP TABLE x; --"]);

        $row = CartStore::find(self::TOKEN);
        $this->assertSame("سارا'); DROP TABLE x; --", $row['first_name']);
        $this->assertSame('2026-11-30T00:53:20', $row['created_gmt']);
        $this->assertSame('2026-11-30T01:53:20', $row['modified_gmt']);
        $this->assertSame('1', $GLOBALS['wpdb']->get_var('SELECT COUNT(*) FROM wp_bazgasht_carts'));
    }

    public function testAGivenModifiedDateIsKeptInEitherNotation(): void
    {
        CartStore::save(['token' => self::TOKEN, 'modified_gmt' => '2026-11-23T03:30:00']);
        $this->assertSame('2026-11-23T03:30:00', CartStore::find(self::TOKEN)['modified_gmt']);
        CartStore::save(['token' => self::TOKEN, 'modified_gmt' => '2026-11-24 03:30:00']);
        $this->assertSame('2026-11-24T03:30:00', CartStore::find(self::TOKEN)['modified_gmt']);
    }

    public function testPurgeDeletesRowsUnchangedSinceTheCutOff(): void
    {
        CartStore::save(['token' => 'oldoldoldold', 'modified_gmt' => Clock::gmt(self::NOW - 31 * 86400)]);
        CartStore::save(['token' => 'newnewnewnew', 'modified_gmt' => Clock::gmt(self::NOW - 29 * 86400)]);

        $this->assertSame(1, CartStore::purge(self::NOW - 30 * 86400));
        $this->assertNull(CartStore::find('oldoldoldold'));
        $this->assertNotNull(CartStore::find('newnewnewnew'));
        $this->assertSame(0, CartStore::purge(self::NOW - 30 * 86400));
    }

    public function testMarkOrderedKeepsTheOrderId(): void
    {
        CartStore::save(['token' => self::TOKEN]);
        CartStore::markOrdered(self::TOKEN, 77);
        CartStore::markOrdered('missingtoken', 78);

        $this->assertSame(77, CartStore::find(self::TOKEN)['order_id']);
        $this->assertNull(CartStore::find('missingtoken'));
    }

    public function testInstallHandsDbDeltaTheTable(): void
    {
        CartStore::install();

        $this->assertCount(1, wpdb::$deltas);
        $ddl = wpdb::$deltas[0];
        $this->assertStringStartsWith('CREATE TABLE wp_bazgasht_carts (', $ddl);
        $this->assertStringContainsString('PRIMARY KEY  (id)', $ddl);  // dbDelta wants two spaces
        $this->assertStringContainsString('UNIQUE KEY token (token)', $ddl);
        $this->assertStringContainsString('utf8mb4', $ddl);
        foreach (CartStore::COLUMNS as $column) {
            $this->assertMatchesRegularExpression('/^  ' . $column . ' /m', $ddl);
        }
    }

    public function testDropRemovesTheTable(): void
    {
        $this->assertNotFalse($GLOBALS['wpdb']->query('SELECT COUNT(*) FROM wp_bazgasht_carts'));

        CartStore::drop();

        // Reading a table that is gone fails, on SQLite and on MariaDB alike.
        $this->assertFalse($GLOBALS['wpdb']->query('SELECT COUNT(*) FROM wp_bazgasht_carts'));
    }
}
