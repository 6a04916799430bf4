"""TRL's own SFTTrainer trains on `codeblock export --format trl`'s Parquet, and the tokens that
carry its loss are exactly the ones our rows label: the supervised tokens plus one end token a
row. Run by tools/check_trl.sh (PyTorch is gigabytes, so this is not part of CI).

    python tools/check_trl.py TRAIN.parquet TOKENIZER_FOLDER SELECTED.jsonl
"""

import json
import sys
import tempfile

import torch
from datasets import load_dataset
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from trl import SFTConfig, SFTTrainer


def main(parquet, tokenizer_folder, selected):
    rows = load_dataset("parquet", data_files=parquet, split="train")
    supervised = {}
    for line in open(selected, encoding="utf-8"):
        record = json.loads(line)
        if record["status"] == "ok":
            supervised[record["id"]] = record["stats"]["supervised_tokens"]
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=f"{tokenizer_folder}/tokenizer.json", eos_token="<|im_end|>", pad_token="<|endoftext|>")
    # A tiny random model of the tokenizer's vocabulary: what is checked is the data path.
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096)
    model = Qwen2ForCausalLM(config)
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(output_dir=out, max_steps=2, per_device_train_batch_size=4, max_length=None,
                         report_to=[], use_cpu=True, logging_steps=1, save_strategy="no")
        trainer = SFTTrainer(model=model, args=args, train_dataset=rows, processing_class=tokenizer)
        # TRL's preparation keeps our labels as they are ...
        assert trainer.train_dataset["labels"] == rows["labels"], "TRL changed the labels"
        # ... and its collator puts exactly those tokens into each batch's loss.
        counted, expected = [], []
        collate = trainer.data_collator

        def counting(features):
            batch = collate(features)
            counted.append(int((batch["labels"] != -100).sum()))
            expected.append(sum(sum(1 for label in f["labels"] if label != -100) for f in features))
            return batch

        trainer.data_collator = counting
        result = trainer.train()
    labelled = [sum(1 for label in row["labels"] if label != -100) for row in rows]
    assert labelled == [supervised[i] + 1 for i in rows["id"]], "labels are the supervised tokens + the end token"
    assert counted == expected and all(c > 0 for c in counted), "TRL's loss tokens differ from the rows' labels"
    print(f"rows: {len(rows)}; each row's labelled tokens = its supervised tokens + 1 end token")
    print(f"TRL's batches: tokens in the loss {counted} = the rows' labelled tokens {expected}")
    print(f"{result.global_step} steps trained, mean loss {result.training_loss:.4f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
