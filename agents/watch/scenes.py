"""One moment of a game, drawn for people (docs/design.md: rooms; chapters 66-68 and 71-75).

Recordings (agents.watch.recording), the live window and the terminal (agents.watch.live) all show the
same thing: a :class:`Moment` (the environment, this episode's decisions with the agent's
values, the running result) drawn by the run's task (``task.picture(moment)``) or said in
words (``task.describe(moment)``). Here are the drawings of the games whose environments only
print text: chapter 67's five-rooms building with the agent's route and the Q-value of each
door, and chapter 66's tic-tac-toe board with the value of each move. Blackjack's table is
chapter 72's plot of plays (agents.watch.blackjack_plays), drawn by the same code as the plot.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from envs import five_rooms
from envs import tictactoe as ttt
from lab.i18n import N_, decimal, ngettext, tr
from lab.video import fit, load_font

BACKGROUND = (247, 246, 240)
INK = (25, 25, 30)
MUTED = (120, 120, 128)
CHOSEN = (235, 120, 20)
ROUTE = (40, 110, 200)


@dataclasses.dataclass
class Decision:
    """One decision of an episode: the agent's values of every action and what was done."""

    observation: Any
    values: np.ndarray | None  # the agent's value of each action (NaN: not allowed)
    action: int | None  # what was done, or is about to be; None while a person thinks
    explored: bool = False  # a random action of epsilon-greedy, not the agent's choice
    snapshot: Any = None  # the state in the task's terms (Blackjack's tuple, a room, a board)
    by: str = "agent"  # "agent" or "you"
    advice: int | None = None  # the agent's greedy action, when a person decides
    note: str = ""  # what an agent with memory holds at this step (its state's size, its attention)


@dataclasses.dataclass
class Moment:
    """What a picture shows: the episode so far; the last decision is the one being taken
    unless the episode is over."""

    env: Any
    decisions: list[Decision]
    over: bool = False
    total: float = 0.0  # this episode's return so far
    results: list[float] = dataclasses.field(default_factory=list)  # earlier episodes' returns
    episode: int = 0  # this episode's index in the recording or session
    episodes: int | None = None  # how many it holds (None: until the person stops)
    person: str | None = None  # None: the agent plays alone; "against" or "beside" a person
    prompt: str = ""  # what the live modes ask the person
    action_names: tuple[str, ...] = ()
    result: float | None = None  # once over: this episode's result in the running tally

    @property
    def current(self) -> Decision | None:
        return self.decisions[-1] if self.decisions and not self.over else None


def tally(results: Sequence[float]) -> str:
    """'+1 after 3 (2 wins, 0 draws, 1 loss)': the running result of a session."""
    wins = sum(r > 0 for r in results)
    losses = sum(r < 0 for r in results)
    draws = len(results) - wins - losses
    return tr("{total} after {count} ({wins}, {draws}, {losses})").format(
        total=decimal(f"{sum(results):+g}"), count=len(results),
        wins=ngettext("{n} win", "{n} wins", wins).format(n=wins),
        draws=ngettext("{n} draw", "{n} draws", draws).format(n=draws),
        losses=ngettext("{n} loss", "{n} losses", losses).format(n=losses))


def moves(n: int) -> str:
    return ngettext("{n} move", "{n} moves", n).format(n=n)


#: the headings' words for one episode of each game
EPISODE_WORDS = {"episode": (N_("episode {number}"), N_("episode {number} of {count}")),
                 "hand": (N_("hand {number}"), N_("hand {number} of {count}")),
                 "game": (N_("game {number}"), N_("game {number} of {count}"))}


def episode_heading(moment: Moment, word: str = "episode") -> str:
    """'hand 3 of 8   running result -1 after 3 (...)': the result counts this episode once it
    is over, so a finished hand's frame shows one running result, the same everywhere on it."""
    alone, of = EPISODE_WORDS[word]
    heading = (tr(of) if moment.episodes else tr(alone)).format(number=moment.episode + 1, count=moment.episodes)
    running = running_result(moment)
    return f"{heading}   {running}" if running else heading


def running_result(moment: Moment) -> str:
    """'running result -1 after 3 (...)' ('your result' when a person plays), this episode
    counted once it is over; empty before the first result."""
    counted = moment.over and moment.result is not None
    results = [*moment.results, moment.result] if counted else moment.results
    if not results:
        return ""
    whose = tr("your result {tally}") if moment.person else tr("running result {tally}")
    return whose.format(tally=tally(results))


def _canvas(width: int, height: int):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), BACKGROUND)
    return image, ImageDraw.Draw(image)


def _write(draw, x: float, y: float, text: str, font, width: float, most: int = 2) -> None:
    """`text` (its own line breaks kept) wrapped at spaces to `width` pixels, `most` lines."""
    lines = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and font.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    for k, line in enumerate(lines[:most]):
        draw.text((x, y + k * (font.size + 5)), fit(line, width, font), font=font, fill=INK)


def _arrow(draw, start: tuple[float, float], end: tuple[float, float], colour, width: int = 4) -> None:
    draw.line([start, end], fill=colour, width=width)
    direction = np.subtract(end, start)
    length = float(np.hypot(*direction))
    if length < 1:
        return
    unit = direction / length
    normal = np.array([-unit[1], unit[0]])
    tip = np.array(end)
    base = tip - 14 * unit
    draw.polygon([tuple(tip), tuple(base + 7 * normal), tuple(base - 7 * normal)], fill=colour)


# -- chapter 67: the five-rooms building ---------------------------------------------------------
# The book gives the building as a graph (doors 0-4, 1-3, 1-5, 2-3, 3-4, 4-5; 5 is outside);
# this floor plan has exactly those doors: 0 and 4 on top, 2, 3 and 1 below, outside on the right.
ROOM_BOXES = {0: (0, 1, 1, 2), 4: (1, 1, 3, 2), 2: (0, 0, 1, 1), 3: (1, 0, 2, 1), 1: (2, 0, 3, 1)}  # x0 y0 x1 y1
DOOR_AT = {(0, 4): (1, 1.5), (3, 4): (1.5, 1), (2, 3): (1, 0.5), (1, 3): (2, 0.5), (4, 5): (3, 1.5), (1, 5): (3, 0.5)}
ROOM_CENTRES = {room: ((x0 + x1) / 2, (y0 + y1) / 2) for room, (x0, y0, x1, y1) in ROOM_BOXES.items()}
ROOM_CENTRES[five_rooms.OUTSIDE] = (3.55, 1.0)
DOOR = (196, 150, 96)
DOOR_WIDTH = 0.34


def _door(a: int, b: int) -> tuple[float, float]:
    return DOOR_AT[(min(a, b), max(a, b))]


def _label_spot(here: int, target: int) -> tuple[tuple[float, float], str]:
    """Where the Q-value of the door from `here` to `target` is written: inside `here`, by the
    door, above the route lines that run through the rooms' centres."""
    x, y = _door(here, target)
    cx, cy = ROOM_CENTRES[here]
    if y % 1 == 0.5:  # a door in a vertical wall
        return ((x + 0.06, y + 0.17), "lm") if x < cx else ((x - 0.06, y + 0.17), "rm")
    return ((x, y + 0.06), "mb") if y < cy else ((x, y - 0.06), "mt")


def building_image(route: Sequence[int], door_values: dict[int, float] | None = None, chosen: int | None = None,
                   title: str = "", footer: str = "", scale: int = 120) -> np.ndarray:
    """The building from above: rooms, walls with their doors, the route walked so far (arrows
    through the doors), the agent in the last room of `route`, and beside each door of that
    room the Q-value of going through it (`door_values`: next room -> Q; `chosen` in orange)."""
    assert {tuple(sorted(d)) for d in five_rooms.DOORS} == set(DOOR_AT), "the plan must have the env's doors"
    font = load_font(max(12, int(scale * 0.12)))
    margin, top = 30, 3 * font.size + 34
    width, height = int(margin + 4.3 * scale), int(top + 2 * scale + 2 * font.size + 26)
    image, draw = _canvas(width, height)
    to_px = lambda x, y: (margin + x * scale, top + (2 - y) * scale)
    draw.rectangle([to_px(3, 2), (width, to_px(3, 0)[1])], fill=(214, 236, 206))
    draw.text(to_px(3.62, 1.72), tr("5 outside"), font=load_font(int(scale * 0.2)), fill=(40, 100, 40), anchor="mm",
              align="center")
    here = route[-1] if route else None
    visited = set(route)
    for room, (x0, y0, x1, y1) in ROOM_BOXES.items():
        fill = (255, 236, 200) if room == here else (236, 232, 220) if room in visited else (250, 249, 245)
        draw.rectangle([to_px(x0, y1), to_px(x1, y0)], fill=fill)
        draw.text(to_px(x0 + 0.12, y1 - 0.1), str(room), font=load_font(int(scale * 0.24)), fill=MUTED, anchor="lt")
    walls = [((0, 0), (3, 0)), ((0, 2), (3, 2)), ((0, 0), (0, 2)), ((3, 0), (3, 2)),
             ((1, 0), (1, 2)), ((0, 1), (3, 1)), ((2, 0), (2, 1))]
    wall = max(4, scale // 18)
    for a, b in walls:
        draw.line([to_px(*a), to_px(*b)], fill=INK, width=wall)
    for x, y in DOOR_AT.values():  # an opening in the wall, drawn in the colour of wood
        vertical = y % 1 == 0.5  # doors on vertical walls sit at half-integer heights
        ends = ((x, y - DOOR_WIDTH / 2), (x, y + DOOR_WIDTH / 2)) if vertical else \
            ((x - DOOR_WIDTH / 2, y), (x + DOOR_WIDTH / 2, y))
        draw.line([to_px(*ends[0]), to_px(*ends[1])], fill=DOOR, width=wall + 2)
    for a, b in zip(route, route[1:]):
        points = [to_px(*ROOM_CENTRES[a]), to_px(*_door(a, b)), to_px(*ROOM_CENTRES[b])]
        draw.line(points[:2], fill=ROUTE, width=4)
        _arrow(draw, points[1], points[2], ROUTE)
    if here is not None:
        cx, cy = to_px(*ROOM_CENTRES[here])
        r = scale * 0.11
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(200, 40, 40), outline=INK, width=2)
    small = load_font(max(10, int(scale * 0.12)))
    for target, value in (door_values or {}).items():
        if here is None or not np.isfinite(value):
            continue
        spot, anchor = _label_spot(here, target)
        colour = CHOSEN if target == chosen else INK
        draw.text(to_px(*spot), decimal(f"{value:.1f}"), font=small, fill=colour, anchor=anchor,
                  stroke_width=3, stroke_fill=BACKGROUND)
    _write(draw, margin, 10, title, font, width - 2 * margin, most=3)
    _write(draw, margin, top + 2 * scale + 12, footer, font, width - 2 * margin)
    return np.asarray(image)


def rooms_picture(moment: Moment) -> np.ndarray:
    route = [int(d.snapshot) for d in moment.decisions]  # the rooms each decision was taken in
    if moment.current is None:
        route.append(int(moment.env.unwrapped.state))
        where = tr("outside after {moves}").format(moves=moves(len(route) - 1)) \
            if route[-1] == five_rooms.OUTSIDE else tr("stopped in room {room}").format(room=route[-1])
        return building_image(route, title=f"{episode_heading(moment)}\n{where}",
                              footer=tr("route {route}   return {total}").format(
                                  route=" -> ".join(map(str, route)), total=decimal(f"{moment.total:+g}")))
    decision = moment.current
    values = decision.values if decision.values is not None else np.full(five_rooms.N_ROOMS, np.nan)
    doors = {int(k): float(values[k]) for k in five_rooms.valid_actions(route[-1])}
    if decision.action is None:
        move = tr("move {number}").format(number=len(route))
    else:
        move = (tr("move {number}: room {room} -> {target} (random)") if decision.explored
                else tr("move {number}: room {room} -> {target}")).format(number=len(route), room=route[-1],
                                                                           target=decision.action)
    return building_image(route, doors, decision.action, title=f"{episode_heading(moment)}\n{move}",
                          footer=tr("route {route}; by each door its Q, orange: taken").format(
                              route=" -> ".join(map(str, route))))


def rooms_text(moment: Moment) -> str:
    here = int(moment.env.unwrapped.state)
    decision = moment.current
    if decision is None:
        where = tr("the outside (5)") if here == five_rooms.OUTSIDE else tr("room {room}").format(room=here)
        return tr("now in {where}: return {total}").format(where=where, total=decimal(f"{moment.total:+g}"))
    values = decision.values if decision.values is not None else np.full(five_rooms.N_ROOMS, np.nan)
    doors = "  ".join(f"Q(->{k}) {decimal(f'{values[k]:.1f}')}" for k in five_rooms.valid_actions(here))
    return tr("in room {room}: {doors}  -> moves to {target}").format(room=here, doors=doors, target=decision.action)


def routes_image(routes: dict[int, list[int]]) -> np.ndarray:
    """The greedy route from every room, one small building each (plots/routes.png)."""
    from PIL import Image

    tiles = [building_image(route, title=tr("from room {room}: {moves}").format(room=room, moves=moves(len(route) - 1)),
                            footer=" -> ".join(map(str, route)), scale=80) for room, route in routes.items()]
    height, width = tiles[0].shape[:2]
    columns = 3
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * width, rows * height), (255, 255, 255))
    for k, tile in enumerate(tiles):
        sheet.paste(Image.fromarray(tile), ((k % columns) * width, (k // columns) * height))
    return np.asarray(sheet)


# -- chapter 66: tic-tac-toe ------------------------------------------------------------------------
BOARD_WIDTH, BOARD_TOP, BOARD_CELL = 500, 76, 110  # room above the board for three lines
BOARD_LEFT = (BOARD_WIDTH - 3 * BOARD_CELL) // 2


def cell_boxes() -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) of cells 0-8 in :func:`board_image`'s pixels (for clicks)."""
    cell = BOARD_CELL
    return [(BOARD_LEFT + (i % 3) * cell, BOARD_TOP + (i // 3) * cell,
             BOARD_LEFT + (i % 3 + 1) * cell, BOARD_TOP + (i // 3 + 1) * cell) for i in range(9)]


def board_image(board: Sequence[int], values: np.ndarray | None = None, chosen: int | None = None,
                fresh: Sequence[int] = (), title: str = "", footer: str = "", numbers: bool = False) -> np.ndarray:
    """The board with X (the agent) in blue and O in red; on each empty cell the value the agent
    gives that move (`values`, V of the position after it), the `chosen` cell ringed orange,
    the marks just made (`fresh`) underlined; `numbers` writes 1-9 in the corners for a person."""
    top, left, margin, cell = BOARD_TOP, BOARD_LEFT, 16, BOARD_CELL
    width, height = BOARD_WIDTH, 3 * cell + top + 56
    image, draw = _canvas(width, height)
    for k in range(4):
        draw.line([(left + k * cell, top), (left + k * cell, top + 3 * cell)], fill=INK, width=3)
        draw.line([(left, top + k * cell), (left + 3 * cell, top + k * cell)], fill=INK, width=3)
    big, small = load_font(int(cell * 0.62)), load_font(max(10, int(cell * 0.17)))
    for index, mark in enumerate(board):
        x0, y0 = left + (index % 3) * cell, top + (index // 3) * cell
        centre = (x0 + cell / 2, y0 + cell / 2)
        if index == chosen:
            draw.rectangle([x0 + 5, y0 + 5, x0 + cell - 5, y0 + cell - 5], outline=CHOSEN, width=5)
        if numbers:
            draw.text((x0 + 12, y0 + 10), str(index + 1), font=small, fill=MUTED)
        if mark != ttt.EMPTY:
            colour = (30, 80, 200) if mark == ttt.X else (200, 40, 40)
            draw.text(centre, "X" if mark == ttt.X else "O", font=big, fill=colour, anchor="mm")
            if index in fresh:
                draw.line([(x0 + cell * 0.3, y0 + cell * 0.88), (x0 + cell * 0.7, y0 + cell * 0.88)], fill=colour, width=4)
        elif values is not None and np.isfinite(values[index]):
            draw.text(centre, f"V {decimal(f'{values[index]:.2f}')}", font=small, fill=CHOSEN if index == chosen else INK, anchor="mm")
    font = load_font(13)
    _write(draw, margin, 10, title, font, width - 2 * margin, most=3)
    _write(draw, margin, top + 3 * cell + 10, footer, font, width - 2 * margin)
    return np.asarray(image)


def _board_before(moment: Moment) -> tuple[int, ...]:
    snapshot = moment.decisions[-1].snapshot if moment.decisions else None
    return tuple(snapshot) if snapshot is not None else tuple(moment.env.unwrapped.board)


def tictactoe_picture(moment: Moment) -> np.ndarray:
    board = tuple(moment.env.unwrapped.board)
    decision = moment.current
    if decision is None:
        outcome = ttt.winner(board)
        word = {ttt.X: tr("X (the agent) wins"),
                ttt.O: tr("you win (O)") if moment.person else tr("O (the opponent) wins")}.get(outcome, tr("a draw"))
        before = _board_before(moment)
        fresh = [i for i in range(9) if board[i] != before[i]]
        return board_image(board, fresh=fresh, title=f"{episode_heading(moment, 'game')}\n{word}",
                           footer=moment.prompt or tr("the agent's return {total}").format(
                               total=decimal(f"{moment.total:+g}")), numbers=True)
    previous = moment.decisions[-2].snapshot if len(moment.decisions) > 1 else (ttt.EMPTY,) * 9
    fresh = [i for i in range(9) if board[i] != previous[i]] if len(moment.decisions) > 1 else []
    if decision.by == "you":
        return board_image(board, chosen=decision.action, fresh=fresh, numbers=True,
                           title=f"{episode_heading(moment, 'game')}\n{tr('your move (O)')}",
                           footer=moment.prompt or "")
    if decision.action is None:
        move = tr("the agent (X) moves")
    else:
        move = (tr("the agent (X) moves X on {cell} (random)") if decision.explored
                else tr("the agent (X) moves X on {cell}")).format(cell=decision.action + 1)
    return board_image(board, decision.values, decision.action, fresh, numbers=True,
                       title=f"{episode_heading(moment, 'game')}\n{move}",
                       footer=moment.prompt or tr("V: the agent's chance of winning after that move"))


def tictactoe_text(moment: Moment) -> str:
    board = tuple(moment.env.unwrapped.board)
    decision = moment.current
    values = decision.values if decision is not None and decision.by == "agent" else None
    rows = []
    for r in range(3):
        cells = []
        for c in range(3):
            i = 3 * r + c
            cells.append({ttt.X: " X ", ttt.O: " O "}.get(board[i], f" {i + 1} "))
        rows.append("|".join(cells))
    text = "\n---+---+---\n".join(rows)
    if values is not None:
        shown = "  ".join(f"{i + 1}: {decimal(f'{v:.2f}')}" for i, v in enumerate(values) if np.isfinite(v))
        text += "\n" + tr("the agent's V of each move: {values}").format(values=shown)
        if decision.action is not None:
            text += "\n" + tr("the agent (X) plays {cell}").format(cell=decision.action + 1)
    if decision is None:
        won = ttt.winner(board)
        text += "\n" + {ttt.X: tr("X (the agent) wins"), ttt.O: tr("O wins")}.get(won, tr("a draw"))
    return text
