"""The baseline: a bare FastAPI app with the webhook's route shape that only echoes the body.

Served by bench/ingest.py under the same uvicorn options as the real app, so the difference
between the two is what bazgasht itself costs per delivery.
"""

from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/webhooks/woocommerce/{store_id}")
async def echo(store_id: str, request: Request) -> Response:
    return Response(content=await request.body(), media_type="application/json")
