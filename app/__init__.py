"""bazgasht: SMS retention for WooCommerce stores."""
