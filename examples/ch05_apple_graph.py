"""DLfS 1, ch. 5.4: buying apples and oranges, a computational graph by hand.

The book's ``buy_apple_orange.py`` builds the price as a graph of multiply and add
nodes, each an object that stores its inputs in ``forward`` and reads them in
``backward``. fnn is functional, so here each node is a pair of pure functions:

- ``*_forward(x, y) -> (out, residuals)``: the value and what the backward pass needs;
- ``*_backward(residuals, dout) -> (dx, dy)``: the local derivatives times ``dout``.

A multiply node ``out = x·y`` sends back ``(dout·y, dout·x)`` (it swaps its inputs)
and keeps them as residuals; an add node ``out = x + y`` passes ``dout`` to both
inputs and keeps nothing. The graph::

    apple (100) ─┐
                 ×──── apple price (200) ─┐
    apples (2) ──┘                        +── 650 ─┐
    orange (150) ┐                        │        ×── price 715
                 ×──── orange price (450)─┘        │
    oranges (3) ─┘                        tax (1.1)┘

Backward from ``dprice = 1``, in reverse order: ``dtax = 650``, both prices get
``1.1``, then ``dapple = 1.1·2 = 2.2``, ``dapples = 1.1·100 = 110``,
``dorange = 1.1·3 = 3.3``, ``doranges = 1.1·150 = 165``: the book's numbers.
The apples-only graph (``buy_apple.py``) gives 220, ``dapple = 2.2``,
``dapples = 110``, ``dtax = 200``.

Run: ``python examples/ch05_apple_graph.py``
"""

from __future__ import annotations

import argparse
from typing import Any


def mul_forward(x: float, y: float) -> tuple[float, tuple[float, float]]:
    """``x·y``, keeping ``(x, y)``: each is the other's derivative."""
    return x * y, (x, y)


def mul_backward(residuals: tuple[float, float], dout: float) -> tuple[float, float]:
    """``(dout·y, dout·x)``: ∂(xy)/∂x = y and ∂(xy)/∂y = x."""
    x, y = residuals
    return dout * y, dout * x


def add_forward(x: float, y: float) -> tuple[float, None]:
    """``x + y``; the backward pass needs nothing."""
    return x + y, None


def add_backward(residuals: None, dout: float) -> tuple[float, float]:
    """``(dout, dout)``: ∂(x + y)/∂x = ∂(x + y)/∂y = 1."""
    return dout, dout


def buy_apple(apple: float, apple_num: float, tax: float) -> dict[str, float]:
    """The book's ``buy_apple.py``: two multiply nodes, forward then backward."""
    apple_price, r_apple = mul_forward(apple, apple_num)
    price, r_tax = mul_forward(apple_price, tax)
    dapple_price, dtax = mul_backward(r_tax, 1.0)
    dapple, dapple_num = mul_backward(r_apple, dapple_price)
    return {"price": price, "apple": dapple, "apple_num": dapple_num, "tax": dtax}


def buy_apple_orange(
    apple: float, apple_num: float, orange: float, orange_num: float, tax: float
) -> dict[str, float]:
    """The book's ``buy_apple_orange.py``: three multiply nodes and an add node."""
    apple_price, r_apple = mul_forward(apple, apple_num)
    orange_price, r_orange = mul_forward(orange, orange_num)
    all_price, r_add = add_forward(apple_price, orange_price)
    price, r_tax = mul_forward(all_price, tax)
    # backward: the nodes in reverse order, each fed the gradient of its output
    dall_price, dtax = mul_backward(r_tax, 1.0)
    dapple_price, dorange_price = add_backward(r_add, dall_price)
    dorange, dorange_num = mul_backward(r_orange, dorange_price)
    dapple, dapple_num = mul_backward(r_apple, dapple_price)
    return {
        "price": price,
        "apple": dapple,
        "apple_num": dapple_num,
        "orange": dorange,
        "orange_num": dorange_num,
        "tax": dtax,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both graphs of the book's chapter 5.4 and print the price and every gradient."""
    parser = argparse.ArgumentParser(description="The apple and orange computational graph (DLfS 5.4).")
    parser.add_argument("--apple", type=float, default=100.0, help="price of one apple")
    parser.add_argument("--apple-num", type=float, default=2.0, help="number of apples")
    parser.add_argument("--orange", type=float, default=150.0, help="price of one orange")
    parser.add_argument("--orange-num", type=float, default=3.0, help="number of oranges")
    parser.add_argument("--tax", type=float, default=1.1, help="consumption tax factor")
    args = parser.parse_args(argv)

    apples = buy_apple(args.apple, args.apple_num, args.tax)
    print(f"apples only: price {apples['price']:g}")
    print(f"  dApple {apples['apple']:g}, dApple_num {apples['apple_num']:g}, dTax {apples['tax']:g}")
    both = buy_apple_orange(args.apple, args.apple_num, args.orange, args.orange_num, args.tax)
    print(f"apples and oranges: price {both['price']:g}")
    print(
        f"  dApple {both['apple']:g}, dApple_num {both['apple_num']:g}, dOrange {both['orange']:g}, "
        f"dOrange_num {both['orange_num']:g}, dTax {both['tax']:g}"
    )
    return {"apple": apples, "apple_orange": both}


if __name__ == "__main__":
    main()
