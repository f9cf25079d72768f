"""A small fixed corpus for testing retrieval offline.

24 short documents on distinct topics, and 24 questions, each with the document that answers it.

Written for this package (no external source). `retrieval_recall(retriever, k)` measures how
often the right document is among the first `k` retrieved.

Example:
    >>> from langchain_localkit.testing.corpus import DOCUMENTS, QUESTIONS
    >>> len(DOCUMENTS), len(QUESTIONS)
    (24, 24)
"""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

_TEXTS: dict[str, str] = {
    "apollo-11": (
        "Apollo 11 landed on the Moon on 20 July 1969. Neil Armstrong and Buzz Aldrin walked on "
        "the lunar surface while Michael Collins stayed in orbit in the command module Columbia."
    ),
    "photosynthesis": (
        "Photosynthesis is how plants turn light into chemical energy. In the chloroplasts, "
        "chlorophyll absorbs sunlight, and water and carbon dioxide become glucose and oxygen."
    ),
    "sourdough": (
        "Sourdough bread rises with a starter of wild yeast and lactic acid bacteria instead of "
        "baker's yeast. The starter is fed flour and water daily, and the bacteria give the sour "
        "taste."
    ),
    "volcanoes": (
        "A volcano erupts when magma from the Earth's mantle rises through the crust. Mount "
        "Vesuvius buried the Roman towns of Pompeii and Herculaneum under ash in the year 79."
    ),
    "chess": (
        "In chess each player starts with sixteen pieces. Castling moves the king two squares "
        "toward a rook, which jumps over it; it is allowed only if neither piece has moved."
    ),
    "honeybees": (
        "Honeybees tell their hive where flowers are with the waggle dance: the angle of the "
        "dance shows the direction relative to the sun, and its length shows the distance."
    ),
    "bitcoin": (
        "Bitcoin is a digital currency launched in 2009 by the pseudonymous Satoshi Nakamoto. "
        "Its transactions are recorded on a public ledger, the blockchain, secured by mining."
    ),
    "great-wall": (
        "The Great Wall of China was built over many centuries to protect Chinese states from "
        "northern raids. Most of the wall standing today was built during the Ming dynasty."
    ),
    "vaccines": (
        "Vaccines train the immune system to recognise a pathogen without causing the disease. "
        "Edward Jenner made the first vaccine in 1796, using cowpox to protect against smallpox."
    ),
    "marathon": (
        "The marathon is a running race of 42.195 kilometres. The distance was fixed at the 1908 "
        "London Olympics so that the race could start at Windsor Castle."
    ),
    "jazz": (
        "Jazz began in New Orleans in the early twentieth century, mixing blues, ragtime and "
        "brass band music. Louis Armstrong made improvised trumpet solos central to the style."
    ),
    "coral-reefs": (
        "Coral reefs are built by tiny animals called polyps that live with algae. When the sea "
        "gets too warm the polyps expel the algae and turn white, which is called bleaching."
    ),
    "printing-press": (
        "Johannes Gutenberg built a printing press with movable metal type in Mainz around 1450. "
        "His Bible was one of the first books printed in Europe this way."
    ),
    "black-holes": (
        "A black hole is a region of space where gravity is so strong that not even light can "
        "escape. Its boundary is called the event horizon; the first image of one came in 2019."
    ),
    "coffee": (
        "Coffee beans are the roasted seeds of the coffee plant, which first grew in Ethiopia. "
        "Arabica and robusta are the two main species; robusta has more caffeine."
    ),
    "tides": (
        "Ocean tides are caused mainly by the Moon's gravity pulling on the Earth's water. Most "
        "coasts see two high tides and two low tides about every 24 hours and 50 minutes."
    ),
    "penicillin": (
        "Alexander Fleming discovered penicillin in 1928 when mould killed the bacteria in one "
        "of his culture dishes. It became the first widely used antibiotic in the 1940s."
    ),
    "origami": (
        "Origami is the Japanese art of folding paper into figures without cutting or gluing. "
        "The folded paper crane is its best-known model and a symbol of peace."
    ),
    "electric-cars": (
        "Electric cars run on batteries that power electric motors, usually lithium-ion packs. "
        "Regenerative braking turns the car's motion back into charge when it slows down."
    ),
    "mount-everest": (
        "Mount Everest, on the border of Nepal and China, is the highest mountain above sea "
        "level at 8,849 metres. Tenzing Norgay and Edmund Hillary first reached its top in 1953."
    ),
    "recycling": (
        "Recycling turns waste such as paper, glass and aluminium into new material. Aluminium "
        "cans can be recycled again and again without losing quality."
    ),
    "olympics": (
        "The modern Olympic Games were first held in Athens in 1896, revived by Pierre de "
        "Coubertin. The five rings of the Olympic flag stand for the inhabited continents."
    ),
    "dna": (
        "DNA carries the genetic instructions of living things in a double helix of two strands. "
        "Its structure was described by James Watson and Francis Crick in 1953."
    ),
    "tea": (
        "Tea is made from the leaves of the Camellia sinensis plant. Green tea is not oxidised, "
        "while black tea leaves are fully oxidised before they are dried."
    ),
}

DOCUMENTS: list[Document] = [
    Document(page_content=text, metadata={"source": name}, id=name) for name, text in _TEXTS.items()
]
"""The documents; each `metadata["source"]` (and `id`) is its topic name."""

QUESTIONS: list[tuple[str, str]] = [
    ("Who stayed in orbit while the others walked on the Moon?", "apollo-11"),
    ("What do plants produce from water and carbon dioxide using sunlight?", "photosynthesis"),
    ("What makes naturally leavened bread taste sour?", "sourdough"),
    ("Which Roman town was buried by an eruption in 79 AD?", "volcanoes"),
    ("When is a player allowed to castle?", "chess"),
    ("How do bees show other bees where the flowers are?", "honeybees"),
    ("Who created the first cryptocurrency?", "bitcoin"),
    ("During which dynasty was most of China's northern wall built?", "great-wall"),
    ("Which disease did the first vaccine protect against?", "vaccines"),
    ("Why is the long-distance race exactly 42.195 km?", "marathon"),
    ("Which city is the birthplace of jazz music?", "jazz"),
    ("What happens to reefs when the ocean becomes too warm?", "coral-reefs"),
    ("Who invented movable type printing in Europe?", "printing-press"),
    ("What is the event horizon?", "black-holes"),
    ("Which coffee species contains more caffeine?", "coffee"),
    ("Why does the sea level rise and fall twice a day?", "tides"),
    ("Who discovered the first antibiotic?", "penicillin"),
    ("What is the best-known model of Japanese paper folding?", "origami"),
    ("How do battery vehicles recover energy when braking?", "electric-cars"),
    ("How high is the world's tallest mountain?", "mount-everest"),
    ("Which material can be recycled endlessly without losing quality?", "recycling"),
    ("Where were the first modern Olympic Games held?", "olympics"),
    ("Who described the double helix structure?", "dna"),
    ("What is the difference between green and black tea?", "tea"),
]
"""(question, source of the document that answers it)."""


def retrieval_recall(retriever: Any, k: int | None = None) -> float:
    """The share of `QUESTIONS` whose document is among the retriever's first `k` results.

    Args:
        retriever: A LangChain retriever over `DOCUMENTS` (or pieces of them).
        k: How many results count (default: all the retriever returns).
    """
    hits = 0
    for question, source in QUESTIONS:
        found = retriever.invoke(question)
        sources = [d.metadata.get("source") for d in (found if k is None else found[:k])]
        hits += source in sources
    return hits / len(QUESTIONS)


__all__ = ["DOCUMENTS", "QUESTIONS", "retrieval_recall"]
