"""The WooCommerce webhook topics bazgasht needs from a store: one owner for the list the panel
shows, the README names and the connection sets up."""

ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
PRODUCT_TOPICS = ("product.created", "product.updated", "product.deleted", "product.restored")
# Registered by the companion plugin itself (it creates its own webhook).
CART_TOPIC = "bazgasht_cart.updated"
WEBHOOK_TOPICS = ORDER_TOPICS + PRODUCT_TOPICS
