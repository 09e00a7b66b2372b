// A few KB of plain English, written for sgl, from which the synthetic models' tokenizer learns
// its merges. Any text would do; this one covers common words, digits and punctuation so that
// tokenizing ordinary prompts gives multi-character pieces rather than single bytes.
#include "core/model/synthetic_tokenizer.hpp"

namespace sgl {

std::string_view synthetic_corpus() {
  return R"(Once upon a time there was a little girl who lived in a small house near the forest. Every
morning she walked to the river to fetch water for her mother, and every evening she sat by the
fire and listened to the stories her grandfather told. He had been a sailor when he was young, and
he knew about the sea, the stars and the strange places beyond the mountains.

One day the girl found a small bird with a broken wing lying in the grass. She carried it home,
made a bed for it in a box and gave it water and seeds. The bird was afraid at first, but after a
few days it began to sing. Her mother smiled and said that kindness is never wasted. When the wing
was strong again, the girl opened the window and the bird flew away into the bright blue sky.

The next spring the bird came back with many friends. They built their nests in the old tree
behind the house, and the garden was full of music from morning until night. The girl was happy,
and she learned that the things we give away often return to us in a different shape.

A computer is a machine that follows instructions. A program is a list of those instructions,
written in a language that people can read and that the machine can translate into simple steps.
The steps move numbers from one place in memory to another, add them, compare them and decide what
to do next. Because each step is very fast, a computer can perform billions of them every second.

Language models are programs that predict the next word in a text. They read a sequence of tokens,
which are small pieces of words, and compute a score for every token in their vocabulary. The token
with the highest score is the most likely continuation. By repeating this process one token at a
time, the model can write sentences, answer questions and follow simple instructions.

To make the model fast, engineers store the weights in compact formats, reuse the keys and values
of tokens it has already seen, and process many requests together in one batch. The scheduler
decides which requests run in each step, and the cache remembers shared prefixes so that the same
work is not done twice.

The weather today is cold and windy, with a chance of rain in the afternoon. Tomorrow will be warm
and sunny, so it is a good day for a walk in the park or a picnic by the lake. Remember to bring a
hat, some water and a book to read under the trees.

Numbers are everywhere: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 20, 25, 32, 64, 100, 128, 256, 512,
1000 and 2024. The year has 12 months, the week has 7 days, and a day has 24 hours of 60 minutes.
What is 2 + 2? It is 4. What is 10 - 3? It is 7. Is 5 greater than 3? Yes, it is!

Questions help us learn. Why is the sky blue? How do plants grow? Where do rivers begin? What makes
the wind blow? When we ask good questions and look carefully for the answers, the world becomes a
little less mysterious and a lot more interesting.

The cat sat on the mat and watched the dog play with a red ball. The dog ran around the yard,
jumped over the fence and came back with the ball in its mouth. Then they both lay down in the sun
and fell asleep, while the children laughed and played games until it was time for dinner.
)";
}

}  // namespace sgl
