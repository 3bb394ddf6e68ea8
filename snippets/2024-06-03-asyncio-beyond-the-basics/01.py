import asyncio

async def my_coroutine(name, lock):
    async with lock:
        print(f"Task {name}: acquiring lock")
        await asyncio.sleep(1)
        print(f"Task {name}: releasing lock")


async def main():
    lock = asyncio.Lock()
    tasks = [my_coroutine(f"Task {i}", lock) for i in range(3)]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main())
