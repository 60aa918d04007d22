# The message of the codec benchmark (bench/codec.ts): 1 KiB of Data and 100 small structs, about 2.7 KB.
@0xeddbc5cc5f906d5b;

struct Sample {
  id @0 :UInt64;
  payload @1 :Data;
  items @2 :List(Item);
}

# Two data words per element: id and kind share the first, value fills the second.
struct Item {
  id @0 :UInt32;
  kind @1 :UInt16;
  value @2 :Float64;
}
