"""The five workloads of issue #5; each is `async def run(ctx) -> Outcome`."""
